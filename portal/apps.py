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

        connect_lockout_audit()
        kind_register(LEASE_EXTENSION)
