"""Asking for a quota change: the team admin's side of the pipeline (the decision is the generic one)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction

from portal.choices import ACTIVE_REQUEST_STATES, Role
from portal.models import ResourceRequest, Team
from portal.permissions import require_role
from portal.quota_requests.kind import QUOTA_CHANGE, QUOTA_CHANGE_NAME
from portal.quota_requests.limits import below_usage_error, limits_below_usage, limits_changed, limits_to_spec
from portal.quotas import team_lock
from portal.services import request_submit

AnyUser = User | AnonymousUser


@transaction.atomic
def quota_change_submit(
    *, actor: AnyUser, team: Team, limits: dict[str, Decimal | int], justification: str
) -> ResourceRequest:
    """Ask for new quota limits. Needs the team admin role; one change per team waits at a time.

    Only the limits that differ from today's are stored. A limit below what the team
    already uses is refused here (and again at approval). Raises ``PermissionDenied``
    or ``ValidationError`` keyed by the field it is about.
    """
    require_role(actor, team, Role.TEAM_ADMIN)
    locked_team = team_lock(team.pk)
    changes = limits_changed(locked_team, limits)
    if not changes:
        raise ValidationError("Change at least one limit: these are the team's limits already.")
    refused = limits_below_usage(locked_team, changes)
    if refused:
        raise below_usage_error(refused)
    waiting = ResourceRequest.objects.filter(team=locked_team, kind=QUOTA_CHANGE, state__in=ACTIVE_REQUEST_STATES)
    if waiting.exists():
        raise ValidationError("The team already has a quota change waiting for a decision; cancel it first.")
    return request_submit(
        actor=actor,
        team=locked_team,
        kind=QUOTA_CHANGE,
        name=QUOTA_CHANGE_NAME,
        vcpus=0,
        memory_mib=0,
        disk_gib=0,
        justification=justification,
        spec={"limits": limits_to_spec(changes)},
    )
