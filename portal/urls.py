"""Routes of the shared pages: requests and jobs of every kind."""

from django.urls import path

from portal import views
from portal.leases.views import LeaseExtendView

urlpatterns = [
    path("requests/", views.RequestListView.as_view(), name="request-list"),
    path("requests/<int:pk>/cancel/", views.RequestCancelView.as_view(), name="request-cancel"),
    path("jobs/<int:pk>/", views.JobDetailView.as_view(), name="job-detail"),
    path("leases/<str:kind>/<int:pk>/extend/", LeaseExtendView.as_view(), name="lease-extend"),
]
