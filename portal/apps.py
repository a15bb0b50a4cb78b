"""App configuration of the shared domain."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Teams, quotas, requests, jobs and audit."""

    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from portal.admin_audit import connect_lockout_audit
        from portal.kinds import kind_register
        from portal.leases.extensions import LEASE_EXTENSION
        from portal.quota_requests.kind import QUOTA_CHANGE_KIND

        connect_lockout_audit()
        # The base's own kinds: quota changes and lease extensions go through the same pipeline as every ask.
        kind_register(QUOTA_CHANGE_KIND)
        kind_register(LEASE_EXTENSION)

        # Register the base's Celery tasks in every process (web included), so a notification's e-mail can be
        # sent by name after commit; without it only the worker (which autodiscovers) would know the task.
        import portal.tasks  # noqa: F401
