"""Pages of the hypervisors app."""

from hypervisors.views.hosts import HostDetailView, HostListView
from hypervisors.views.vm_actions import VMActionView, VMResizeView, VMSnapshotView
from hypervisors.views.vm_request import VMRequestCreateView, VMRequestPreviewView
from hypervisors.views.vms import VMDetailView, VMListView

__all__ = [
    "HostDetailView",
    "HostListView",
    "VMActionView",
    "VMDetailView",
    "VMListView",
    "VMRequestCreateView",
    "VMRequestPreviewView",
    "VMResizeView",
    "VMSnapshotView",
]
