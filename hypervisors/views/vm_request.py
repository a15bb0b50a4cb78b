"""The form to ask for a VM, with its live quota preview (the shared request pages, for VMs)."""

from __future__ import annotations

from hypervisors.forms import VMRequestForm
from portal.request_views import ResourceRequestCreateView, ResourceRequestPreviewView


class VMRequestCreateView(ResourceRequestCreateView):
    """Ask for a VM."""

    form_class = VMRequestForm
    kind_label = "a VM"
    submit_url = "vm-request"
    preview_url = "vm-request-preview"


class VMRequestPreviewView(ResourceRequestPreviewView):
    """htmx: the quota left after this VM, and the field errors so far."""

    form_class = VMRequestForm
