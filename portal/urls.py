"""URL routes of the whole site."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from containers.urls import network_urlpatterns as container_network_urlpatterns
from hypervisors.urls import host_urlpatterns
from hypervisors.urls import network_urlpatterns as vm_network_urlpatterns
from portal import views
from portal.network_views import NetworkOverviewView

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("requests/", views.RequestListView.as_view(), name="request-list"),
    path("requests/<int:pk>/cancel/", views.RequestCancelView.as_view(), name="request-cancel"),
    path("jobs/<int:pk>/", views.JobDetailView.as_view(), name="job-detail"),
    path("vms/", include("hypervisors.urls")),
    path("hosts/", include(host_urlpatterns)),
    path("containers/", include("containers.urls")),
    path("networks/", NetworkOverviewView.as_view(), name="networks"),
    path("networks/", include(vm_network_urlpatterns)),
    path("networks/", include(container_network_urlpatterns)),
    path("admin/", admin.site.urls),
]
