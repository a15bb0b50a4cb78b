"""URL routes of the whole site."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from hypervisors.urls import host_urlpatterns
from portal import views

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
    path("admin/", admin.site.urls),
]
