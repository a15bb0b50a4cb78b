"""Routes of the VM pages (mounted under /vms/) and host pages (under /hosts/)."""

from django.urls import path

from hypervisors import views

urlpatterns = [
    path("", views.VMListView.as_view(), name="vm-list"),
    path("new/", views.VMRequestCreateView.as_view(), name="vm-request"),
    path("new/preview/", views.VMRequestPreviewView.as_view(), name="vm-request-preview"),
    path("<uuid:vm_uuid>/", views.VMDetailView.as_view(), name="vm-detail"),
    path("<uuid:vm_uuid>/actions/<slug:slug>/", views.VMActionView.as_view(), name="vm-action"),
    path("<uuid:vm_uuid>/resize/", views.VMResizeView.as_view(), name="vm-resize"),
    path("<uuid:vm_uuid>/snapshots/<slug:slug>/", views.VMSnapshotView.as_view(), name="vm-snapshot"),
    path("<uuid:vm_uuid>/interfaces/<slug:slug>/", views.VMInterfaceView.as_view(), name="vm-interface"),
]

network_urlpatterns = [
    path("vm/new/", views.NetworkRequestCreateView.as_view(), name="network-request"),
    path("vm/new/preview/", views.NetworkRequestPreviewView.as_view(), name="network-request-preview"),
    path("vm/<int:pk>/actions/<slug:slug>/", views.NetworkActionView.as_view(), name="network-action"),
]

host_urlpatterns = [
    path("", views.HostListView.as_view(), name="host-list"),
    path("<int:pk>/", views.HostDetailView.as_view(), name="host-detail"),
]
