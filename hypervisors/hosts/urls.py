"""Routes of the host pages (mounted under /hosts/)."""

from django.urls import path

from hypervisors.hosts import top_views, views

urlpatterns = [
    path("", views.HostListView.as_view(), name="host-list"),
    path("<int:pk>/", views.HostDetailView.as_view(), name="host-detail"),
    path("<int:pk>/top/", top_views.HostTopView.as_view(), name="host-top"),
]
