"""Lease arithmetic: a team's policy for a kind, what a picked date means, and whether it is allowed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.kinds import kind_handler
from portal.leases.models import DEFAULT_GRACE_DAYS, LeasePolicy

#: The form field (and API key) that carries the lease's last day.
LEASE_FIELD = "lease_ends_on"


@dataclass(frozen=True)
class Terms:
    """A team's lease terms for one kind; None days mean none."""

    default_days: int | None = None
    max_days: int | None = None
    grace_days: int = DEFAULT_GRACE_DAYS

    def default_day(self, today: date) -> date | None:
        """The last day prefilled in an ask; None: no lease by default."""
        return today + timedelta(days=self.default_days) if self.default_days is not None else None

    def last_allowed_day(self, today: date) -> date | None:
        """The latest last day allowed; None: any, or none at all."""
        return today + timedelta(days=self.max_days) if self.max_days is not None else None


def lease_terms(team_id: int, kind: str) -> Terms:
    """The team's terms for ``kind``: its policy, or no default, no maximum and the default grace."""
    policy = LeasePolicy.objects.filter(team_id=team_id, kind=kind).first()
    if policy is None:
        return Terms()
    return Terms(default_days=policy.default_days, max_days=policy.max_days, grace_days=policy.grace_days)


def lease_end_of(day: date | None) -> datetime | None:
    """A lease whose last day is ``day`` ends when that day ends (midnight after it, in the portal's time zone)."""
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def lease_last_day(ends_at: datetime | None) -> date | None:
    """The last day of a lease ending at ``ends_at`` (the inverse of :func:`lease_end_of`)."""
    if ends_at is None:
        return None
    return (timezone.localtime(ends_at) - timedelta(microseconds=1)).date()


def lease_day_check(*, terms: Terms, kind: str, day: date | None, today: date | None = None) -> None:
    """Refuse a last day in the past or beyond the maximum, and "no lease" where a maximum applies.

    Raises ``ValidationError`` keyed on the lease field, so pages and the API show it where it was typed.
    """
    today = today or timezone.localdate()
    last_allowed = terms.last_allowed_day(today)
    label = kind_handler(kind).label.lower()
    if day is None:
        if last_allowed is not None:
            raise ValidationError(
                {LEASE_FIELD: f"This team lends a {label} for at most {terms.max_days} days: pick a last day."}
            )
        return
    if day < today:
        raise ValidationError({LEASE_FIELD: "Pick today or a later day."})
    if last_allowed is not None and day > last_allowed:
        raise ValidationError(
            {
                LEASE_FIELD: f"This team lends a {label} for at most {terms.max_days} days: "
                f"pick {last_allowed.isoformat()} or earlier."
            }
        )
