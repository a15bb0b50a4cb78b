"""The quota limits a change asks for: read from and written to a request's spec, checked against usage."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from portal.amounts import RESOURCES, Amounts
from portal.models import Quota, Team
from portal.quotas import amount_text, quota_limits, teams_usage

#: The resources a quota change may set, by field name.
RESOURCE_BY_FIELD = {resource.field: resource for resource in RESOURCES}


def limits_to_spec(limits: dict[str, Decimal | int]) -> dict[str, Any]:
    """Limits as JSON keeps them: decimals as text, so no precision is lost."""
    return {field: str(value) if isinstance(value, Decimal) else int(value) for field, value in limits.items()}


def limits_from_spec(spec: dict[str, Any]) -> dict[str, Decimal | int]:
    """The limits a stored request asks for; fields no quota has are ignored."""
    limits: dict[str, Decimal | int] = {}
    for field, value in (spec.get("limits") or {}).items():
        if field in RESOURCE_BY_FIELD:
            limits[field] = Decimal(str(value)) if field == "vcpus" else int(value)
    return limits


def limits_changed(team: Team, limits: dict[str, Decimal | int]) -> dict[str, Decimal | int]:
    """The limits that differ from the team's quota now."""
    current = quota_limits(getattr(team, "quota", None))
    return {field: value for field, value in limits.items() if value != current.get(field)}


def limits_below_usage(team: Team, limits: dict[str, Decimal | int]) -> dict[str, str]:
    """Why each limit is refused because the team already uses more, by field (empty when all fit).

    Usage is what is live plus what was approved (``TeamUsage.committed``): a quota
    below it would leave the team over quota with nothing anyone could decide.
    """
    usage = teams_usage([team])[team.pk].committed
    refused = {}
    for field, value in limits.items():
        used = usage.get(field)
        if value < used:
            resource = RESOURCE_BY_FIELD[field]
            unit = f" {resource.unit}" if resource.unit else ""
            refused[field] = (
                f"{resource.label}: the team already uses {amount_text(used)}{unit}; "
                f"a quota of {amount_text(value)}{unit} would be below that."
            )
    return refused


def limits_text(before: Amounts, limits: dict[str, Decimal | int]) -> str:
    """The change as people read it: "vCPUs 4 → 8; Memory 1024 → 2048 MiB"."""
    parts = []
    for field, value in limits.items():
        resource = RESOURCE_BY_FIELD[field]
        unit = f" {resource.unit}" if resource.unit else ""
        parts.append(f"{resource.label} {amount_text(before.get(field))} → {amount_text(value)}{unit}")
    return "; ".join(parts)


def limits_summary(limits: dict[str, Decimal | int]) -> str:
    """The limits asked for: "vCPUs 8; Memory 2048 MiB"."""
    parts = []
    for field, value in limits.items():
        resource = RESOURCE_BY_FIELD[field]
        parts.append(f"{resource.label} {amount_text(value)}{f' {resource.unit}' if resource.unit else ''}")
    return "; ".join(parts)


def quota_apply(team: Team, limits: dict[str, Decimal | int]) -> Quota:
    """Write the limits into the team's quota row (made if the team had none); the caller holds the team lock."""
    quota, _ = Quota.objects.get_or_create(team=team)
    for field, value in limits.items():
        setattr(quota, field, value)
    quota.save(update_fields=list(limits))
    return quota


def below_usage_error(refused: dict[str, str]) -> ValidationError:
    """One error per refused limit, under the field it is about."""
    return ValidationError({field: [message] for field, message in refused.items()})
