"""Routes of the shared domain's API (mounted under /api/v1/)."""

from rest_framework.routers import SimpleRouter

from portal.api import views

router = SimpleRouter()
router.register("teams", views.TeamViewSet, basename="api-team")
router.register("requests", views.RequestViewSet, basename="api-request")
router.register("jobs", views.JobViewSet, basename="api-job")
router.register("audit-events", views.AuditEventViewSet, basename="api-audit-event")
router.register("tokens", views.TokenViewSet, basename="api-token")

urlpatterns = router.urls
