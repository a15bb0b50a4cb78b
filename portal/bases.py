"""Abstract models that the apps' models share, so that what is common is written once.

* :class:`TeamResource` — a live thing a team owns (a VM, a container, a network).
  Its queryset's ``for_user()`` is the one way pages scope reads to the user's teams.
* :class:`RemoteEndpoint` — something the workers reach over the network (a libvirt
  host, a Docker engine) and whose reachability pages show without asking it.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.utils import timezone

logger = logging.getLogger(__name__)

_Resource = TypeVar("_Resource", bound=models.Model)


#: Names of the networks the portal makes for each team (``team_<host>``): the underscore keeps
#: them apart from the DNS-label names people give their own networks, so the two never collide.
TEAM_NETWORK_PREFIX = "team_"


def team_network_name(endpoint_name: str) -> str:
    """The name of a team's own network on the host or engine called ``endpoint_name``."""
    label = re.sub(r"[^a-z0-9-]+", "-", endpoint_name.lower()).strip("-") or "host"
    return f"{TEAM_NETWORK_PREFIX}{label}"[:63]


class TeamResourceQuerySet(models.QuerySet[_Resource]):
    """Reads of team-owned resources."""

    def for_user(self, user: User | AnonymousUser) -> TeamResourceQuerySet[_Resource]:
        """The rows of the teams the user belongs to (any role); superusers see all, strangers nothing.

        One membership row per user and team (a unique constraint), so the join adds no duplicates.
        """
        if not user.is_authenticated:
            return self.none()
        if getattr(user, "is_superuser", False):
            return self.all()
        return self.filter(team__memberships__user_id=user.pk)


class TeamResource(models.Model):
    """A resource a team owns. Subclasses declare ``team``, ``owner`` and ``request`` with their own related names."""

    name = models.CharField("name", max_length=63)
    created_at = models.DateTimeField("created", auto_now_add=True)
    # A lease: when the resource is stopped, and when deleted (its end plus the team's grace period).
    # Indexed: the lease scan's due queries are range scans on these. Empty: no lease.
    lease_ends_at = models.DateTimeField("lease ends", null=True, blank=True, db_index=True)
    lease_deletes_at = models.DateTimeField("deleted after lease", null=True, blank=True, db_index=True)
    #: Days before the end of the last reminder sent (7, then 1): each reminder goes out once.
    lease_reminded_days = models.PositiveSmallIntegerField("last lease reminder (days before)", null=True, blank=True)
    #: Set when the scan claimed the stop (or the delete) of this lease, so no second scan acts again.
    lease_stopped_at = models.DateTimeField("stopped at lease end", null=True, blank=True)
    lease_deleted_at = models.DateTimeField("deletion queued after lease", null=True, blank=True)

    objects: ClassVar[Any] = TeamResourceQuerySet.as_manager()

    class Meta:
        abstract = True

    def lease_set(self, *, ends_at: Any, grace_days: int) -> list[str]:
        """Give the resource a new lease end (None: no lease) with fresh reminders; returns the fields to save.

        A resource already stopped by its lease stays stopped (its owner starts it again), but
        will be stopped and deleted at the new end like any other.
        """
        self.lease_ends_at = ends_at
        self.lease_deletes_at = ends_at + timedelta(days=grace_days) if ends_at is not None else None
        self.lease_reminded_days = None
        self.lease_stopped_at = None
        self.lease_deleted_at = None
        return ["lease_ends_at", "lease_deletes_at", "lease_reminded_days", "lease_stopped_at", "lease_deleted_at"]


class RemoteEndpoint(models.Model):
    """A host or engine the workers talk to; pages show its last known reachability, never ask it."""

    is_reachable = models.BooleanField("reachable", default=False)
    last_probed_at = models.DateTimeField("last probed", null=True, blank=True)
    unreachable_since = models.DateTimeField("unreachable since", null=True, blank=True)
    last_error = models.TextField("last error", blank=True)
    last_reconciled_at = models.DateTimeField(
        "last reconciled", null=True, blank=True, help_text="When the periodic reconcile last read it whole."
    )

    class Meta:
        abstract = True

    def mark_unreachable(self, error: Exception | str) -> None:
        """Record that it stopped answering; what runs there keeps its last known state until it answers."""
        logger.warning("%s %s is unreachable: %s", self._meta.verbose_name, self, error)
        self.is_reachable = False
        self.unreachable_since = self.unreachable_since or timezone.now()
        self.last_error = str(error)
        self.save(update_fields=["is_reachable", "unreachable_since", "last_error"])

    def mark_reachable(self) -> None:
        """Record that it answers (again); a write only when something changes."""
        if not self.is_reachable or self.last_error or self.unreachable_since:
            self.is_reachable = True
            self.unreachable_since = None
            self.last_error = ""
            self.save(update_fields=["is_reachable", "unreachable_since", "last_error"])

    def mark_reconciled(self, at: datetime) -> None:
        """Record a reconcile that read it whole (so it answers): how fresh its rows are, for metrics."""
        self.is_reachable = True
        self.unreachable_since = None
        self.last_error = ""
        self.last_reconciled_at = at
        self.save(update_fields=["is_reachable", "unreachable_since", "last_error", "last_reconciled_at"])
