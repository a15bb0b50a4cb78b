"""The quota change as a kind of request: applied at approval, counted against nothing, no job."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.urls import reverse

from portal.audit import audit_record
from portal.choices import RequestState, Role
from portal.kinds import KindHandler
from portal.models import Quota, ResourceRequest
from portal.notifications.categories import NotificationCategory
from portal.notifications.services import notify
from portal.quota_requests.limits import limits_below_usage, limits_from_spec, limits_summary, limits_text, quota_apply
from portal.quotas import quota_limits

#: The value stored in ``ResourceRequest.kind``.
QUOTA_CHANGE = "quota_change"
#: The name every quota-change ask carries: with the unique constraint on active asks'
#: names, a team has at most one quota change waiting at a time.
QUOTA_CHANGE_NAME = "quota"


def quota_change_apply(request: ResourceRequest) -> Quota:
    """Approval: set the team's quota to the limits asked for (the caller holds the team lock).

    Checked again against usage now, since the team may have grown since it asked:
    a limit below it refuses the approval and nothing changes.
    """
    team = request.team
    limits = limits_from_spec(request.spec)
    refused = limits_below_usage(team, limits)
    if refused:
        raise ValidationError(" ".join(refused.values()))
    before = quota_limits(getattr(team, "quota", None))
    quota = quota_apply(team, limits)
    audit_record(
        actor=request.decided_by, action="quota.change", target=quota, team=team, detail=limits_text(before, limits)
    )
    return quota


def quota_change_decided(request: ResourceRequest) -> None:
    """Tell the team's admins (and whoever asked) what was decided."""
    team = request.team
    admins = [m.user for m in team.memberships.filter(role=Role.TEAM_ADMIN).select_related("user")]
    approved = request.state == RequestState.FULFILLED
    verdict = "approved" if approved else "rejected"
    asked = limits_summary(limits_from_spec(request.spec))
    body = f"Asked for: {asked}." + (f"\nReason: {request.decision_reason}" if request.decision_reason else "")
    notify(
        users=[*admins, request.requested_by],
        category=NotificationCategory.QUOTA_CHANGE,
        subject=f"Quota change for {team.name} {verdict}",
        body=body,
        url=reverse("team-detail", args=[team.slug]),
    )


QUOTA_CHANGE_KIND = KindHandler(
    kind=QUOTA_CHANGE,
    label="Quota change",
    model=None,
    count_field="",
    sizes={},
    resource_create=None,
    provision_action="",
    provision_task="",
    resource_url=lambda quota: "",
    applied_at_approval=quota_change_apply,
    on_decision=quota_change_decided,
    ask_text=lambda request: limits_summary(limits_from_spec(request.spec)),
)
