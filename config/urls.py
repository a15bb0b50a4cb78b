"""URL routes of the whole site: each app mounts its own patterns here."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("", include("overview.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("portal.urls")),
    path("vms/", include("hypervisors.vms.urls")),
    path("hosts/", include("hypervisors.hosts.urls")),
    path("containers/", include("containers.containers.urls")),
    path("networks/", include("hypervisors.networks.urls")),
    path("networks/", include("containers.networks.urls")),
    path("admin/", admin.site.urls),
]
