"""Routes of the container pages (mounted under /containers/)."""

from django.urls import path

from containers.containers import shell_views, views

urlpatterns = [
    path("", views.ContainerListView.as_view(), name="container-list"),
    path("new/", views.ContainerRequestCreateView.as_view(), name="container-request"),
    path("new/preview/", views.ContainerRequestPreviewView.as_view(), name="container-request-preview"),
    path("<int:pk>/", views.ContainerDetailView.as_view(), name="container-detail"),
    path("<int:pk>/history/", views.ContainerHistoryView.as_view(), name="container-history"),
    path("<int:pk>/actions/<slug:slug>/", views.ContainerActionView.as_view(), name="container-action"),
    path("<int:pk>/logs/", views.ContainerLogsView.as_view(), name="container-logs"),
    path("<int:pk>/networks/<slug:slug>/", views.ContainerNetworkView.as_view(), name="container-network"),
    path("<int:pk>/shell/", shell_views.ContainerShellView.as_view(), name="container-shell"),
    path("<int:pk>/shell/ticket/", shell_views.ContainerShellTicketView.as_view(), name="container-shell-ticket"),
]
