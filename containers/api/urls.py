"""Routes of the containers app's API (mounted under /api/v1/)."""

from rest_framework.routers import SimpleRouter

from containers.api import views

router = SimpleRouter()
router.register("containers", views.ContainerViewSet, basename="api-container")
router.register("container-networks", views.ContainerNetworkViewSet, basename="api-container-network")
router.register("container-images", views.ContainerImageViewSet, basename="api-container-image")

urlpatterns = router.urls
