"""Routes of the VM pages (mounted under /vms/)."""

from django.urls import path

from hypervisors import views

urlpatterns = [
    path("", views.VMListView.as_view(), name="vm-list"),
    path("new/", views.VMRequestCreateView.as_view(), name="vm-request"),
    path("new/preview/", views.VMRequestPreviewView.as_view(), name="vm-request-preview"),
    path("<uuid:vm_uuid>/", views.VMDetailView.as_view(), name="vm-detail"),
]
