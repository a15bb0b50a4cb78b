"""Routes of the shared pages: requests and jobs of every kind, the team pages, the user's notifications, metrics."""

from django.urls import include, path

from portal import views
from portal.leases.views import LeaseExtendView
from portal.metrics_views import MetricsView

urlpatterns = [
    path("requests/", views.RequestListView.as_view(), name="request-list"),
    path("requests/<int:pk>/cancel/", views.RequestCancelView.as_view(), name="request-cancel"),
    path("jobs/<int:pk>/", views.JobDetailView.as_view(), name="job-detail"),
    path("teams/", include("portal.teams.urls")),
    path("notifications/", include("portal.notifications.urls")),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("leases/<str:kind>/<int:pk>/extend/", LeaseExtendView.as_view(), name="lease-extend"),
]
