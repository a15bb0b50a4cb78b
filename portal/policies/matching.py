"""Which auto-approval policy, if any, approves an ask: the checks of every dimension, in one place.

:func:`policy_refusal` is pure (an :class:`Ask` against one policy), so each dimension can be
read and tested on its own; :func:`policy_matching` adds what needs rows (the order of the
policies, the per-person daily count) and runs inside the submission's transaction, after the
team lock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from portal.amounts import Amounts
from portal.kinds import kind_handler
from portal.models import AutoApprovalPolicy, ResourceRequest, Team
from portal.quotas import request_demand


@dataclass(frozen=True)
class Ask:
    """What a policy looks at in an ask, read once through the kind's handler."""

    kind: str
    demand: Amounts
    image_id: int | None
    network_ids: tuple[int, ...]
    lease_days: int | None
    #: Whether the kind can carry a lease: an ask of such a kind without a lease end asks for no end at all.
    leased_kind: bool = False


def request_lease_days(request: ResourceRequest) -> int | None:
    """The days from the ask to its lease end, rounded up; None for an ask without a lease end."""
    if request.lease_ends_at is None:
        return None
    start = request.created_at or timezone.now()
    return max(0, math.ceil((request.lease_ends_at - start).total_seconds() / 86400))


def ask_of(request: ResourceRequest) -> Ask:
    """The policy's view of a stored request."""
    handler = kind_handler(request.kind)
    return Ask(
        kind=request.kind,
        demand=request_demand(request),
        image_id=handler.request_image_id(request),
        network_ids=tuple(handler.request_network_ids(request)),
        lease_days=request_lease_days(request),
        leased_kind=handler.has_leases,
    )


def policy_refusal(policy: AutoApprovalPolicy, ask: Ask) -> str:
    """Why ``policy`` does not approve ``ask`` ("" when it does, the daily count aside)."""
    if not policy.enabled:
        return "the policy is disabled"
    if ask.kind not in policy.kinds:
        return f"the policy does not cover {ask.kind}"
    oversized = policy.oversized(ask.demand)
    if oversized:
        return f"more than the policy allows of {', '.join(oversized)}"
    if policy.images and ask.image_id is not None and f"{ask.kind}:{ask.image_id}" not in policy.images:
        return "the image is not on the policy's list"
    outside = [n for n in ask.network_ids if f"{ask.kind}:{n}" not in policy.networks]
    if policy.networks and outside:
        return "a network is not on the policy's list"
    if policy.max_lease_days is not None and ask.leased_kind:
        if ask.lease_days is None:
            return f"no lease end (the policy allows leases up to {policy.max_lease_days} days)"
        if ask.lease_days > policy.max_lease_days:
            return f"a lease longer than {policy.max_lease_days} days"
    return ""


def policies_in_order(team: Team) -> list[AutoApprovalPolicy]:
    """The enabled policies an ask of ``team`` is tried against: the team's own first, then the global ones."""
    rows = AutoApprovalPolicy.objects.filter(Q(team=team) | Q(team__isnull=True), enabled=True)
    return sorted(rows, key=lambda policy: (policy.team_id is None, policy.name, policy.pk))


def approvals_today(policy: AutoApprovalPolicy, user_id: int) -> int:
    """How many asks of one person this policy approved in the last 24 hours."""
    since = timezone.now() - timedelta(days=1)
    return ResourceRequest.objects.filter(
        approval_policy=policy, requested_by_id=user_id, decided_at__gte=since
    ).count()


def _daily_limit_reached(policy: AutoApprovalPolicy, user_id: int) -> bool:
    """Whether the person used up the policy's approvals of the day.

    The policy row is locked first: a global policy serves several teams, whose asks hold
    different team locks, and the count must not be read by two of them at once.
    """
    if policy.max_asks_per_user_per_day is None:
        return False
    locked = AutoApprovalPolicy.objects.select_for_update(of=("self",)).filter(pk=policy.pk).order_by()
    list(locked.values_list("pk", flat=True))
    return approvals_today(policy, user_id) >= policy.max_asks_per_user_per_day


def policy_may_cover(kind: str) -> bool:
    """Policies approve asks for resources; a change of the team's own terms (a quota change, applied at
    approval) is always for staff to decide, whatever a policy lists."""
    return kind_handler(kind).applied_at_approval is None


def policy_matching(request: ResourceRequest) -> AutoApprovalPolicy | None:
    """The first policy that approves a just-submitted ask, or None: it waits for an administrator.

    Call inside the submission's transaction, holding its team's lock.
    """
    if not policy_may_cover(request.kind):
        return None
    ask = ask_of(request)
    for policy in policies_in_order(request.team):
        if not policy_refusal(policy, ask) and not _daily_limit_reached(policy, request.requested_by_id):
            return policy
    return None
