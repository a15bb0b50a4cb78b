"""The lease scan, run by Celery beat: reminders before a lease ends, stop at its end, delete after the grace.

Each step finds its due resources with one query per kind (a range on the indexed
``lease_ends_at`` or ``lease_deletes_at``), then claims each row in a transaction of its own:
the team lock first (the services' lock order), then the row with
``select_for_update(skip_locked=True)`` filtered by the same due condition, then the state field
that says the step is done. Two scans running at once (two beat instances, or a run that
overlaps the next) therefore act on each resource once: the second finds the row locked or no
longer due. A step the kind refuses now (another job runs on the resource) is left unclaimed,
and the next scan tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from portal.actions import ActionRefused
from portal.audit import audit_record
from portal.choices import Role
from portal.kinds import KindHandler, kind_handlers
from portal.leases.policies import lease_last_day
from portal.notifications.categories import NotificationCategory
from portal.notifications.services import notify
from portal.quotas import team_lock

logger = logging.getLogger(__name__)


@dataclass
class ScanResult:
    """What one scan did: ids of the resources reminded, stopped and deleted, by kind."""

    reminded: dict[str, list[int]] = field(default_factory=dict)
    stopped: dict[str, list[int]] = field(default_factory=dict)
    deleted: dict[str, list[int]] = field(default_factory=dict)


def reminder_days() -> list[int]:
    """Days before the end at which the owner and team admins are reminded, longest first (default 7 and 1)."""
    return sorted({int(days) for days in settings.PORTAL_LEASE_REMINDER_DAYS if int(days) > 0}, reverse=True)


def reminders_due(now: datetime) -> Q:
    """Live leases inside a reminder window whose reminder for that window has not gone out."""
    due = Q(pk__in=[])
    for days in reminder_days():
        not_yet = Q(lease_reminded_days__isnull=True) | Q(lease_reminded_days__gt=days)
        due |= Q(lease_ends_at__lte=now + timedelta(days=days)) & not_yet
    return Q(lease_ends_at__gt=now, lease_stopped_at__isnull=True) & due


def stops_due(now: datetime) -> Q:
    """Leases that ended and whose resource has not been stopped for it."""
    return Q(lease_ends_at__lte=now, lease_stopped_at__isnull=True)


def deletes_due(now: datetime) -> Q:
    """Stopped resources whose grace period is over and whose deletion was not queued yet."""
    return Q(lease_deletes_at__lte=now, lease_stopped_at__isnull=False, lease_deleted_at__isnull=True)


def lease_recipients(resource: models.Model) -> list[User]:
    """Who hears about a lease: the resource's owner and its team's admins."""
    admins = User.objects.filter(memberships__team_id=resource.team_id, memberships__role=Role.TEAM_ADMIN)  # type: ignore[attr-defined]
    owner = getattr(resource, "owner", None)
    return [*admins, *([owner] if owner is not None else [])]


def _tell(handler: KindHandler, resource: Any, subject: str, body: str) -> None:
    notify(
        users=lease_recipients(resource),
        category=NotificationCategory.LEASE,
        subject=subject,
        body=body,
        url=handler.resource_url(resource),
    )


def _claim_each(handler: KindHandler, due: Q, act: Callable[[Any], bool], done: list[int]) -> None:
    """Find the due rows (one query), then claim and act on each in a transaction of its own."""
    assert handler.model is not None
    manager = handler.model._default_manager
    for pk, team_id in manager.filter(due).order_by("lease_ends_at").values_list("pk", "team_id"):
        try:
            with transaction.atomic():
                team_lock(team_id)
                resource = manager.select_for_update(skip_locked=True, of=("self",)).filter(due, pk=pk).first()
                if resource is not None and act(resource):
                    done.append(pk)
        except Exception:  # one resource that fails must not hold up every other lease
            logger.exception("lease scan: %s %s failed; it is tried again at the next scan", handler.kind, pk)


def _remind(handler: KindHandler, now: datetime, done: list[int]) -> None:
    def act(resource: Any) -> bool:
        left = resource.lease_ends_at - now
        resource.lease_reminded_days = min(days for days in reminder_days() if left <= timedelta(days=days))
        resource.save(update_fields=["lease_reminded_days"])
        day = lease_last_day(resource.lease_ends_at)
        _tell(
            handler,
            resource,
            f"The lease of {handler.label.lower()} {resource.name} ends after {day}",
            f"{resource.name} will be stopped when its lease ends after {day}, and deleted on "
            f"{timezone.localdate(resource.lease_deletes_at)}. Extend the lease on its page to keep it.",
        )
        return True

    _claim_each(handler, reminders_due(now), act, done)


def _expire(
    handler: KindHandler,
    resource: Any,
    *,
    step: str,
    queue: Callable[[int, str], object],
    stamp: str,
    now: datetime,
    detail: str,
    subject: str,
    body: str,
) -> bool:
    """Queue the kind's stop or delete job of a claimed resource, mark it, audit and tell; False when it must wait."""
    try:
        with transaction.atomic():
            job = queue(resource.pk, detail)
    except ActionRefused as refused:
        logger.info("lease %s of %s %s waits: %s", step, handler.kind, resource.pk, refused.message)
        return False
    setattr(resource, stamp, now)
    resource.save(update_fields=[stamp])
    audit_record(actor=None, action=f"lease.{step}", target=resource, team=resource.team, detail=f"{detail}; job {job}")
    _tell(handler, resource, subject, body)
    return True


def _stop(handler: KindHandler, now: datetime, done: list[int]) -> None:
    assert handler.lease_stop is not None
    stop = handler.lease_stop

    def act(resource: Any) -> bool:
        return _expire(
            handler, resource, step="stop", queue=stop, stamp="lease_stopped_at", now=now,
            detail=f"Lease expiry: the lease ended after {lease_last_day(resource.lease_ends_at)}",
            subject=f"{resource.name} was stopped: its lease ended",
            body=f"It will be deleted on {timezone.localdate(resource.lease_deletes_at)} unless its lease is extended.",
        )  # fmt: skip

    _claim_each(handler, stops_due(now), act, done)


def _delete(handler: KindHandler, now: datetime, done: list[int]) -> None:
    assert handler.lease_delete is not None
    delete = handler.lease_delete

    def act(resource: Any) -> bool:
        detail = f"Lease expiry: the lease ended after {lease_last_day(resource.lease_ends_at)} and its grace is over"
        return _expire(
            handler, resource, step="delete", queue=delete, stamp="lease_deleted_at", now=now, detail=detail,
            subject=f"{resource.name} is being deleted: its lease ended", body=detail + ".",
        )  # fmt: skip

    _claim_each(handler, deletes_due(now), act, done)


def lease_scan(*, now: datetime | None = None) -> ScanResult:
    """One pass over every kind with leases: reminders, then stops, then deletions. Safe to run twice."""
    now = now or timezone.now()
    result = ScanResult()
    for handler in kind_handlers():
        if not handler.has_leases:
            continue
        _remind(handler, now, result.reminded.setdefault(handler.kind, []))
        _stop(handler, now, result.stopped.setdefault(handler.kind, []))
        _delete(handler, now, result.deleted.setdefault(handler.kind, []))
    return result
