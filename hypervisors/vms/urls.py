"""Routes of the VM pages (mounted under /vms/)."""

from django.urls import path

from hypervisors.hosts.storage_views import TeamVolumesView
from hypervisors.vms import console_views, views

urlpatterns = [
    path("", views.VMListView.as_view(), name="vm-list"),
    path("new/", views.VMRequestCreateView.as_view(), name="vm-request"),
    path("volumes/", TeamVolumesView.as_view(), name="vm-volumes"),
    path("new/preview/", views.VMRequestPreviewView.as_view(), name="vm-request-preview"),
    path("<uuid:vm_uuid>/", views.VMDetailView.as_view(), name="vm-detail"),
    path("<uuid:vm_uuid>/history/", views.VMHistoryView.as_view(), name="vm-history"),
    path("<uuid:vm_uuid>/actions/<slug:slug>/", views.VMActionView.as_view(), name="vm-action"),
    path("<uuid:vm_uuid>/resize/", views.VMResizeView.as_view(), name="vm-resize"),
    path("<uuid:vm_uuid>/snapshots/<slug:slug>/", views.VMSnapshotView.as_view(), name="vm-snapshot"),
    path("<uuid:vm_uuid>/interfaces/<slug:slug>/", views.VMInterfaceView.as_view(), name="vm-interface"),
    path("<uuid:vm_uuid>/console/", console_views.VMConsoleView.as_view(), name="vm-console"),
    path("<uuid:vm_uuid>/console/ticket/", console_views.VMConsoleTicketView.as_view(), name="vm-console-ticket"),
    path("<uuid:vm_uuid>/graphics/", console_views.VMGraphicsView.as_view(), name="vm-graphics"),
    path("<uuid:vm_uuid>/graphics/ticket/", console_views.VMGraphicsTicketView.as_view(), name="vm-graphics-ticket"),
]
