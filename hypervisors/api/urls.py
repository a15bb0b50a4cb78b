"""Routes of the hypervisors app's API (mounted under /api/v1/)."""

from rest_framework.routers import SimpleRouter

from hypervisors.api import views

router = SimpleRouter()
router.register("vms", views.VMViewSet, basename="api-vm")
router.register("vm-networks", views.VMNetworkViewSet, basename="api-vm-network")
router.register("hosts", views.HostViewSet, basename="api-host")
router.register("images", views.ImageViewSet, basename="api-image")

urlpatterns = router.urls
