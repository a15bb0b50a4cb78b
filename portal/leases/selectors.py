"""Reads for lease pages: a leased resource of the user's teams, and what its page says of the lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timeuntil

from portal.choices import Role
from portal.kinds import kind_handler, kind_handlers
from portal.leases.policies import lease_last_day
from portal.permissions import role_in

AnyUser = User | AnonymousUser


def leased_resource_get(user: AnyUser, kind: str, resource_id: int) -> models.Model:
    """A resource of a kind with leases, if one of the user's teams owns it; else ``Http404`` (as for strangers)."""
    try:
        handler = kind_handler(kind)
    except LookupError:
        raise Http404("No such resource.") from None
    if not handler.has_leases or handler.model is None:
        raise Http404("No such resource.")
    resource: models.Model | None = handler.model._default_manager.for_user(user).filter(pk=resource_id).first()  # type: ignore[attr-defined]
    if resource is None:
        raise Http404("No such resource.")
    return resource


@dataclass(frozen=True)
class LeaseView:
    """What a resource's page shows of its lease."""

    ends_at: datetime | None
    last_day: date | None
    deletes_on: date | None
    text: str
    expired: bool
    can_extend: bool
    extend_url: str


def lease_text(resource: Any, now: datetime | None = None) -> str:
    """ "expires in 5 days", "expired, will be deleted on 2026-12-09", or "no lease"."""
    now = now or timezone.now()
    ends_at = resource.lease_ends_at
    if ends_at is None:
        return "no lease"
    if ends_at > now:
        return f"expires in {timeuntil(ends_at, now, depth=1)}".replace("\xa0", " ")
    if resource.lease_deleted_at is not None:
        return "expired, being deleted"
    return f"expired, will be deleted on {timezone.localdate(resource.lease_deletes_at).isoformat()}"


def lease_view(user: AnyUser, resource: models.Model) -> LeaseView | None:
    """The lease part of a resource's page; None for a kind without leases."""
    handler = next((h for h in kind_handlers() if h.model is type(resource) and h.has_leases), None)
    if handler is None:
        return None
    lease: Any = resource
    role = role_in(user, lease.team_id)
    may = role == Role.TEAM_ADMIN or (role is not None and getattr(lease, "owner_id", None) == user.pk)
    deletes_at = lease.lease_deletes_at
    return LeaseView(
        ends_at=lease.lease_ends_at,
        last_day=lease_last_day(lease.lease_ends_at),
        deletes_on=timezone.localdate(deletes_at) if deletes_at else None,
        text=lease_text(lease),
        expired=lease.lease_ends_at is not None and lease.lease_ends_at <= timezone.now(),
        can_extend=may and lease.lease_deleted_at is None,
        extend_url=reverse("lease-extend", args=[handler.kind, resource.pk]),
    )
