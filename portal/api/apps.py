"""App configuration of the API: its own models (tokens, idempotency records) under their own label."""

from django.apps import AppConfig


class PortalApiConfig(AppConfig):
    """Personal API tokens and the stored results of idempotent writes."""

    name = "portal.api"
    label = "portal_api"
    verbose_name = "API"
    default_auto_field = "django.db.models.BigAutoField"
