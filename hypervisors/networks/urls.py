"""Routes of the VM network pages (mounted under /networks/)."""

from django.urls import path

from hypervisors.networks import views

urlpatterns = [
    path("vm/new/", views.NetworkRequestCreateView.as_view(), name="network-request"),
    path("vm/new/preview/", views.NetworkRequestPreviewView.as_view(), name="network-request-preview"),
    path("vm/<int:pk>/actions/<slug:slug>/", views.NetworkActionView.as_view(), name="network-action"),
]
