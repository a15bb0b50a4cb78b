"""Extending a lease: a request of its own kind through the one request pipeline, applied at approval.

An extension within the team's longest lease is approved in the transaction that submits it; a
longer one waits for an administrator in Django admin like any other ask. Approving moves the
resource's lease end (no job: nothing changes on a host). It counts against no quota.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from portal.audit import audit_record
from portal.choices import ACTIVE_REQUEST_STATES, Role
from portal.kinds import KindHandler, kind_handler
from portal.leases.policies import LEASE_FIELD, lease_end_of, lease_last_day, lease_terms
from portal.models import ResourceRequest
from portal.notifications.pipeline import tell_ask_submitted
from portal.permissions import has_role, require_role
from portal.quotas import team_lock
from portal.services import _request_approve

AnyUser = User | AnonymousUser

#: The value of ``ResourceRequest.kind`` for lease extensions.
LEASE_EXTENSION_KIND = "lease_extension"
#: The decision recorded on an extension approved at submit.
AUTO_APPROVED = "Within the team's longest lease: approved when asked."


def _leased_model(kind: str) -> type[models.Model]:
    handler = kind_handler(kind)
    if not handler.has_leases or handler.model is None:
        raise ValidationError(f"{handler.label} resources have no leases.")
    return handler.model


def lease_extension_apply(request: ResourceRequest) -> None:
    """Approval of an extension: the resource's lease ends on the new day, with fresh reminders.

    Runs inside the approval transaction, after the team lock (the services' lock order).
    """
    kind, resource_id = request.spec["kind"], request.spec["resource_id"]
    resource = (
        _leased_model(kind)
        ._default_manager.select_for_update(of=("self",))
        .filter(pk=resource_id, team_id=request.team_id)
        .first()
    )
    if resource is None:
        raise ValidationError("The resource of this lease extension no longer exists.")
    if resource.lease_deleted_at is not None:  # type: ignore[attr-defined]
        raise ValidationError("The resource is being deleted: its lease can no longer be extended.")
    grace_days = lease_terms(request.team_id, kind).grace_days
    resource.save(update_fields=resource.lease_set(ends_at=request.lease_ends_at, grace_days=grace_days))  # type: ignore[attr-defined]
    day = lease_last_day(request.lease_ends_at)
    audit_record(
        actor=None, action="lease.extend", target=resource, team=request.team, detail=f"Lease ends after {day}"
    )


LEASE_EXTENSION = KindHandler(
    kind=LEASE_EXTENSION_KIND,
    label="Lease extension",
    model=None,
    count_field="",
    sizes={},
    resource_create=None,
    provision_action="",
    provision_task="",
    resource_url=lambda resource: "",
    applied_at_approval=lease_extension_apply,
)


@transaction.atomic
def lease_extension_submit(
    *, actor: AnyUser, kind: str, resource_id: int, day: date, justification: str = ""
) -> ResourceRequest:
    """Ask for a resource's lease to end after ``day``. The resource's owner or a team admin may.

    Within the team's longest lease it is approved at once (in this transaction); beyond it the
    request waits for an administrator. Raises ``PermissionDenied`` or ``ValidationError``.
    """
    model = _leased_model(kind)
    team_id = model._default_manager.values_list("team_id", flat=True).get(pk=resource_id)
    team = team_lock(team_id)
    resource = model._default_manager.select_for_update(of=("self",)).get(pk=resource_id)
    require_role(actor, team, Role.MEMBER)
    if getattr(resource, "owner_id", None) != actor.pk and not has_role(actor, team, Role.TEAM_ADMIN):
        raise PermissionDenied("Only the resource's owner or a team admin may extend its lease.")
    assert isinstance(actor, User)
    if resource.lease_deleted_at is not None:  # type: ignore[attr-defined]
        raise ValidationError({LEASE_FIELD: "The resource is being deleted: its lease can no longer be extended."})
    today = timezone.localdate()
    if day < today:
        raise ValidationError({LEASE_FIELD: "Pick today or a later day."})
    name = f"{kind}-{resource.pk}"[:63]
    if ResourceRequest.objects.filter(
        team=team, kind=LEASE_EXTENSION_KIND, name=name, state__in=ACTIVE_REQUEST_STATES
    ).exists():
        raise ValidationError({LEASE_FIELD: "An extension of this lease is already waiting for approval."})
    request = ResourceRequest.objects.create(
        team=team,
        kind=LEASE_EXTENSION_KIND,
        name=name,
        spec={"kind": kind, "resource_id": resource.pk, "resource": str(resource)},
        justification=justification or f"Extend the lease of {resource} to {day.isoformat()}.",
        requested_by=actor,
        lease_ends_at=lease_end_of(day),
    )
    audit_record(actor=actor, action="request.submit", target=request, team=team)
    last_allowed = lease_terms(team.pk, kind).last_allowed_day(today)
    if last_allowed is None or day <= last_allowed:
        _request_approve(actor=None, request_id=request.pk, reason=AUTO_APPROVED)
        request.refresh_from_db()
    else:
        # Beyond the team's longest lease it waits for an administrator: tell them, as for any ask.
        tell_ask_submitted(request, actor=actor)
    return request
