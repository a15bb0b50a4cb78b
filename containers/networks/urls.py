"""Routes of the container network pages (mounted under /networks/)."""

from django.urls import path

from containers.networks import views

urlpatterns = [
    path("containers/new/", views.ContainerNetworkRequestCreateView.as_view(), name="container-network-request"),
    path(
        "containers/new/preview/",
        views.ContainerNetworkRequestPreviewView.as_view(),
        name="container-network-request-preview",
    ),
    path("containers/<int:pk>/delete/", views.ContainerNetworkDeleteView.as_view(), name="container-network-delete"),
]
