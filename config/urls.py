"""URL routes of the whole site: each app mounts its own patterns here."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal.api.profile_views import ProfileView, TokenCreateView, TokenRevokeView
from portal.notifications.views import EmailCategoriesView
from portal.ssh_key_views import SshKeyCreateView, SshKeyDeleteView

urlpatterns = [
    path("", include("overview.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("portal.urls")),
    path("vms/", include("hypervisors.vms.urls")),
    path("hosts/", include("hypervisors.hosts.urls")),
    path("teams/", include("hypervisors.hosts.team_urls")),
    path("containers/", include("containers.containers.urls")),
    path("networks/", include("hypervisors.networks.urls")),
    path("networks/", include("containers.networks.urls")),
    path("admin/", admin.site.urls),
    path("profile/", ProfileView.as_view(), name="profile"),
    path("profile/tokens/", TokenCreateView.as_view(), name="token-create"),
    path("profile/tokens/<int:pk>/revoke/", TokenRevokeView.as_view(), name="token-revoke"),
    path("profile/email/", EmailCategoriesView.as_view(), name="email-categories"),
    path("profile/ssh-keys/", SshKeyCreateView.as_view(), name="ssh-key-create"),
    path("profile/ssh-keys/<int:pk>/delete/", SshKeyDeleteView.as_view(), name="ssh-key-delete"),
    path("api/v1/", include("portal.api.urls")),
    path("api/v1/", include("hypervisors.api.urls")),
    path("api/v1/", include("containers.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script as a file: the Content-Security-Policy allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
