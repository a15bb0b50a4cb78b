"""App configuration of the shared domain."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Teams, quotas, requests, jobs and audit."""

    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from portal.admin_audit import connect_lockout_audit

        connect_lockout_audit()
        # Register the base's Celery tasks in every process (web included), so a notification's e-mail can be
        # sent by name after commit; without it only the worker (which autodiscovers) would know the task.
        import portal.tasks  # noqa: F401
