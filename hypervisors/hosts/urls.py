"""Routes of the host pages (mounted under /hosts/)."""

from django.urls import path

from hypervisors.hosts import storage_views, top_views, views

urlpatterns = [
    path("", views.HostListView.as_view(), name="host-list"),
    path("<int:pk>/", views.HostDetailView.as_view(), name="host-detail"),
    path("<int:pk>/top/", top_views.HostTopView.as_view(), name="host-top"),
    path("storage/", storage_views.StorageView.as_view(), name="storage"),
    path("storage/volumes/<int:pk>/delete/", storage_views.VolumeDeleteView.as_view(), name="volume-delete"),
]
