"""Services that move resource requests through their life; every move is guarded, locked and audited.

pending -> approved | rejected | cancelled;  approved -> provisioning -> fulfilled | failed.
A kind applied at approval (``KindHandler.applied_at_approval``) goes approved -> fulfilled in
the approval transaction, with no job. The same functions serve the self-service pages, Django admin and the workers.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from portal.audit import audit_record
from portal.choices import ACTIVE_REQUEST_STATES, AuditResult, RequestState, Role
from portal.jobs import job_create, job_enqueue
from portal.kinds import kind_handler
from portal.leases.policies import lease_day_check, lease_last_day, lease_terms
from portal.models import AutoApprovalPolicy, Job, ResourceRequest, Team
from portal.notifications.pipeline import tell_ask_decided, tell_ask_submitted, tell_build_finished
from portal.permissions import has_role, require_decider, require_role
from portal.policies.matching import policy_matching
from portal.quotas import QuotaExceeded, demand_of, quota_check, request_demand, team_lock

AnyUser = User | AnonymousUser

#: The moves a request may make; anything else is refused with a clear error.
ALLOWED_MOVES: dict[str, set[str]] = {
    RequestState.PENDING: {RequestState.APPROVED, RequestState.REJECTED, RequestState.CANCELLED},
    # Fulfilled straight from approved only by a kind applied at approval, inside that transaction.
    RequestState.APPROVED: {RequestState.PROVISIONING, RequestState.FULFILLED, RequestState.FAILED},
    RequestState.PROVISIONING: {RequestState.FULFILLED, RequestState.FAILED},
}


class InvalidTransition(ValidationError):
    """A request was asked to make a move its state does not allow."""


def _move(request: ResourceRequest, new_state: str) -> None:
    """Change a request's state after checking the move is allowed (the caller holds its lock)."""
    if new_state not in ALLOWED_MOVES.get(request.state, set()):
        raise InvalidTransition(
            f"A request that is {request.get_state_display().lower()} cannot become "
            f"{RequestState(new_state).label.lower()}."
        )
    request.state = new_state


def _locked_request(request_id: int, team_id: int | None = None) -> ResourceRequest:
    """Lock the request's team, then the request: the one lock order every service uses.

    The request carries the locked team (with its quota), so a quota check reads neither again.
    A caller that already read the request's team (it never changes) passes ``team_id``.
    """
    if team_id is None:
        team_id = ResourceRequest.objects.values_list("team_id", flat=True).get(pk=request_id)
    team = team_lock(team_id)
    request = ResourceRequest.objects.select_for_update().get(pk=request_id)
    request.team = team
    return request


@transaction.atomic
def request_submit(
    *,
    actor: AnyUser,
    team: Team,
    kind: str,
    name: str,
    vcpus: Decimal | int,
    memory_mib: int,
    disk_gib: int,
    justification: str,
    spec: dict[str, Any],
    lease_ends_at: datetime | None = None,
) -> ResourceRequest:
    """Ask for a resource. Needs the member role; the ask must fit next to everything already asked.

    An ask that an enabled auto-approval policy covers (the team's own first, then the global
    ones) is approved at once, by the same code as an administrator's approval, in this
    transaction and under this team lock: the quota was checked first, so a policy never
    approves past it. Anything else stays pending.

    ``lease_ends_at`` is the lease asked for (``portal.leases``), within the team's maximum for the kind.
    Raises ``PermissionDenied``, ``QuotaExceeded`` or ``ValidationError`` (name taken, lease too long).
    """
    require_role(actor, team, Role.MEMBER)
    assert isinstance(actor, User)  # require_role refused anonymous users
    locked_team = team_lock(team.pk)
    handler = kind_handler(kind)
    name_taken = (
        handler.name_in_use(locked_team, name)
        or ResourceRequest.objects.filter(
            team=locked_team, kind=kind, name=name, state__in=ACTIVE_REQUEST_STATES
        ).exists()
    )
    if name_taken:
        raise ValidationError({"name": f"The team already has or is asking for a resource named {name!r}."})
    if handler.has_leases:
        lease_day_check(terms=lease_terms(locked_team.pk, kind), kind=kind, day=lease_last_day(lease_ends_at))
    elif lease_ends_at is not None:
        raise ValidationError(f"{handler.label} resources have no leases.")
    demand = demand_of(kind=kind, vcpus=vcpus, memory_mib=memory_mib, disk_gib=disk_gib)
    quota_check(team=locked_team, demand=demand, include_pending=True)
    request = ResourceRequest.objects.create(
        team=locked_team,
        kind=kind,
        name=name,
        vcpus=Decimal(vcpus),
        memory_mib=memory_mib,
        disk_gib=disk_gib,
        justification=justification,
        spec=spec,
        requested_by=actor,
        lease_ends_at=lease_ends_at,
    )
    audit_record(actor=actor, action="request.submit", target=request, team=locked_team)
    policy = policy_matching(request)
    if policy is not None:
        _request_approve_by_policy(request, policy)
    if request.state == RequestState.PENDING:
        # Approvers hear of asks that wait for them; one a policy approved already was told of as decided.
        tell_ask_submitted(request, actor=actor)
    return request


def _request_approve_by_policy(request: ResourceRequest, policy: AutoApprovalPolicy) -> None:
    """Approve a just-submitted ask by a policy, in the submission's transaction and under its team lock.

    A savepoint keeps the ask when its resource cannot be made now (a host in maintenance,
    no room on the host of its networks): it stays pending for an administrator, and the
    refusal is audited under the policy's name.
    """
    decider = f"policy {policy.name}"
    try:
        with transaction.atomic():
            _approve_locked(request, actor=None, policy=policy, reason=f"approved by {decider}")
    except (QuotaExceeded, ValidationError) as exc:
        request.refresh_from_db()
        audit_record(
            actor=None,
            actor_label=decider,
            action="request.approve",
            target=request,
            team=request.team,
            result=AuditResult.FAILURE,
            detail=" ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc),
        )


def request_approve(*, actor: AnyUser, request_id: int, reason: str = "") -> Job | None:
    """Approve a pending request and queue its provisioning job after commit.

    A kind applied at approval (a quota change, a lease extension) makes its change now and has no job: None.

    The quota is checked again under the team lock against what is already
    approved or live, so parallel approvals never overshoot. A refused approval
    is audited too. Raises ``PermissionDenied``, ``InvalidTransition``,
    ``QuotaExceeded`` or the kind's own ``ValidationError``.
    """
    require_decider(actor)
    try:
        return _request_approve(actor=actor, request_id=request_id, reason=reason)
    except (QuotaExceeded, ValidationError) as exc:
        request = ResourceRequest.objects.select_related("team").get(pk=request_id)
        audit_record(
            actor=actor,
            action="request.approve",
            target=request,
            team=request.team,
            result=AuditResult.FAILURE,
            detail=str(exc.message if isinstance(exc, ValidationError) else exc),
        )
        raise


@transaction.atomic
def _request_approve(*, actor: AnyUser | None, request_id: int, reason: str) -> Job | None:
    return _approve_locked(_locked_request(request_id), actor=actor, policy=None, reason=reason)


def _approve_locked(
    request: ResourceRequest, *, actor: AnyUser | None, policy: AutoApprovalPolicy | None, reason: str
) -> Job | None:
    """The one approval, by a person (``actor``), by a policy or by the system (``actor`` None): check the
    quota, make the resource row, create its job and queue it after commit (a kind applied at approval makes
    its change instead, with no job). The caller holds the team's and the request's locks.
    """
    _move(request, RequestState.APPROVED)
    quota_check(team=request.team, demand=request_demand(request), include_pending=False, exclude_request_id=request.pk)
    request.decided_by = actor if isinstance(actor, User) and policy is None else None
    request.approval_policy = policy
    request.decided_at = timezone.now()
    request.decision_reason = reason
    request.save(update_fields=["state", "decided_by", "approval_policy", "decided_at", "decision_reason"])
    handler = kind_handler(request.kind)
    decider_label = f"policy {policy.name}" if policy is not None else ""
    if handler.applied_at_approval is not None:
        handler.applied_at_approval(request)
        # Applied in full now: through provisioning to fulfilled in this transaction, with no job.
        _move(request, RequestState.PROVISIONING)
        _move(request, RequestState.FULFILLED)
        request.finished_at = timezone.now()
        request.save(update_fields=["state", "finished_at"])
        audit_record(
            actor=actor, actor_label=decider_label, action="request.approve", target=request, team=request.team,
            detail=reason,
        )  # fmt: skip
        _decision_tell(request, actor=actor, approved=True)
        return None
    assert handler.resource_create is not None, f"{handler.kind} makes neither a resource nor a change at approval"
    resource = handler.resource_create(request)
    if request.lease_ends_at is not None and handler.has_leases:
        grace_days = lease_terms(request.team_id, request.kind).grace_days
        resource.save(update_fields=resource.lease_set(ends_at=request.lease_ends_at, grace_days=grace_days))  # type: ignore[attr-defined]
    job = job_create(
        action=handler.provision_action,
        team=request.team,
        requested_by=actor if policy is None else request.requested_by,
        target=resource,
        request=request,
    )
    job_enqueue(job, handler.provision_task)
    audit_record(
        actor=actor if policy is None else None,
        actor_label=decider_label,
        action="request.approve",
        target=request,
        team=request.team,
        detail=reason,
    )
    _decision_tell(request, actor=actor, approved=True)
    return job


def _decision_tell(request: ResourceRequest, *, actor: AnyUser | None, approved: bool) -> None:
    """Tell whom a decision concerns, in the deciding transaction: the kind when it says whom, else the asker."""
    handler = kind_handler(request.kind)
    if handler.on_decision is not None:
        handler.on_decision(request)
    else:
        tell_ask_decided(request, actor=actor, approved=approved)


@transaction.atomic
def request_reject(*, actor: AnyUser, request_id: int, reason: str) -> ResourceRequest:
    """Reject a pending request; a reason is required and shown to the person who asked."""
    require_decider(actor)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the request is rejected; the person who asked will read it."})
    request = _locked_request(request_id)
    _move(request, RequestState.REJECTED)
    request.decided_by = actor  # type: ignore[assignment]
    request.decided_at = timezone.now()
    request.decision_reason = reason.strip()
    request.save(update_fields=["state", "decided_by", "decided_at", "decision_reason"])
    audit_record(actor=actor, action="request.reject", target=request, team=request.team, detail=reason)
    _decision_tell(request, actor=actor, approved=False)
    return request


@transaction.atomic
def request_cancel(*, actor: AnyUser, request_id: int) -> ResourceRequest:
    """Withdraw a pending request. Its author or a team admin may; it frees the quota it held."""
    request = _locked_request(request_id)
    if request.requested_by_id != actor.pk and not has_role(actor, request.team, Role.TEAM_ADMIN):
        raise PermissionDenied("Only the person who asked or a team admin may cancel this request.")
    _move(request, RequestState.CANCELLED)
    request.finished_at = timezone.now()
    request.save(update_fields=["state", "finished_at"])
    audit_record(actor=actor, action="request.cancel", target=request, team=request.team)
    return request


@transaction.atomic
def request_provisioning_start(*, request_id: int, team_id: int | None = None) -> ResourceRequest:
    """Worker side: check the quota a last time and mark the request provisioning.

    A request already provisioning (a redelivered task) passes again, so the
    worker's steps can be retried. ``team_id``: see ``_locked_request``.
    """
    request = _locked_request(request_id, team_id)
    if request.state != RequestState.PROVISIONING:
        _move(request, RequestState.PROVISIONING)
    quota_check(team=request.team, demand=request_demand(request), include_pending=False, exclude_request_id=request.pk)
    request.save(update_fields=["state"])
    return request


@transaction.atomic
def request_fulfill(*, request_id: int, team_id: int | None = None) -> ResourceRequest:
    """Worker side: the resource is live; from now on it, not the request, counts as usage."""
    request = _locked_request(request_id, team_id)
    _move(request, RequestState.FULFILLED)
    request.finished_at = timezone.now()
    request.save(update_fields=["state", "finished_at"])
    audit_record(actor=None, action="request.fulfill", target=request, team=request.team)
    tell_build_finished(request, succeeded=True)
    return request


@transaction.atomic
def request_fail(*, request_id: int, reason: str) -> ResourceRequest:
    """Worker side: building failed; the request stops holding quota and says why."""
    request = _locked_request(request_id)
    if request.state == RequestState.FAILED:
        return request
    _move(request, RequestState.FAILED)
    request.failure_reason = reason
    request.finished_at = timezone.now()
    request.save(update_fields=["state", "failure_reason", "finished_at"])
    audit_record(
        actor=None, action="request.fail", target=request, team=request.team, result=AuditResult.FAILURE, detail=reason
    )
    tell_build_finished(request, succeeded=False)
    return request
