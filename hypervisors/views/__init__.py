"""Pages of the hypervisors app."""

from hypervisors.views.hosts import HostDetailView, HostListView
from hypervisors.views.networks import (
    NetworkActionView,
    NetworkRequestCreateView,
    NetworkRequestPreviewView,
    VMInterfaceView,
)
from hypervisors.views.vm_actions import VMActionView, VMResizeView, VMSnapshotView
from hypervisors.views.vm_request import VMRequestCreateView, VMRequestPreviewView
from hypervisors.views.vms import VMDetailView, VMListView

__all__ = [
    "HostDetailView",
    "HostListView",
    "NetworkActionView",
    "NetworkRequestCreateView",
    "NetworkRequestPreviewView",
    "VMActionView",
    "VMDetailView",
    "VMInterfaceView",
    "VMListView",
    "VMRequestCreateView",
    "VMRequestPreviewView",
    "VMResizeView",
    "VMSnapshotView",
]
