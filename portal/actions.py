"""Actions people ask of a live resource (a VM, a container, a network): one way to check and queue them.

Each kind lists its actions as :class:`Action` values; :func:`action_check`
refuses what the role, the ownership, the state or another running job does not
allow, and :func:`action_queue` records the job, sends its task after commit and
audits it.

Who may do what is one rule for every kind: any member may run a resource of
the team (start, stop, reboot, resize, snapshot...), but what destroys work or
data (delete, remove, force off, reset, revert or delete a snapshot, stop or
delete a network) is marked ``owner_or_admin``: only the member the resource
belongs to or a team admin may ask. A resource without an owner (a team's
network, an adopted VM nobody was given) is then its team admins' alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models

from portal.audit import audit_record
from portal.choices import JobState, Role
from portal.jobs import job_create, job_enqueue
from portal.models import Job, Team
from portal.permissions import require_role, role_at_least, role_in

AnyUser = User | AnonymousUser


class ActionRefused(ValidationError):
    """The resource's state, or another job on it, does not allow this action now."""


@dataclass(frozen=True)
class Action:
    """One thing people can ask a resource to do."""

    job_action: str
    #: Short name in URLs and forms ("start").
    slug: str
    label: str
    allowed_states: frozenset[str]
    minimum_role: str = Role.MEMBER
    #: Text of a confirmation question; empty when none is needed.
    confirm: str = ""
    #: Whether the action takes parameters from a form rather than a button.
    has_form: bool = False
    #: Destructive: only the resource's owner or a team admin may ask, not every member.
    owner_or_admin: bool = False


def resource_owner_id(resource: models.Model) -> int | None:
    """The user a resource belongs to, or None when it belongs to the team as a whole."""
    owner_id: int | None = getattr(resource, "owner_id", None)
    return owner_id


def may_act(action: Action, *, role: str | None, user_id: int | None, owner_id: int | None) -> bool:
    """Whether a user with ``role`` in the team may ask ``action`` of a resource owned by ``owner_id``.

    The one place the rule is written; :func:`action_check` enforces it and
    :func:`actions_allowed` uses it to decide which buttons to show.
    """
    if not role_at_least(role, action.minimum_role):
        return False
    if not action.owner_or_admin or role_at_least(role, Role.TEAM_ADMIN):
        return True
    return owner_id is not None and owner_id == user_id


def resource_busy(resource: models.Model) -> bool:
    """Whether a job on this resource is queued or running."""
    return Job.objects.filter(
        target_type=ContentType.objects.get_for_model(resource),
        target_id=str(resource.pk),
        state__in=[JobState.QUEUED, JobState.RUNNING],
    ).exists()


def action_check(
    *, actor: AnyUser, actions: dict[str, Action], slug: str, resource: models.Model, team: Team | None, noun: str
) -> Action:
    """The action ``slug``, once the actor's role, the resource's state and its other jobs allow it.

    ``noun`` names the resource in messages ("VM"). ``team`` None means the
    resource belongs to no team and the caller checked the actor already.
    Raises ``PermissionDenied`` or :class:`ActionRefused`.
    """
    action = actions.get(slug)
    if action is None:
        raise ActionRefused(f"There is no {noun} action {slug!r}.")
    if team is not None:
        require_role(actor, team, action.minimum_role)
        owner_id = resource_owner_id(resource)
        if not may_act(action, role=role_in(actor, team), user_id=actor.pk, owner_id=owner_id):
            raise PermissionDenied(
                f"Only the {noun}'s owner or a team admin may {action.label.lower()}; ask one of them."
            )
    state = resource.state  # type: ignore[attr-defined]
    if state not in action.allowed_states:
        label = resource.get_state_display().lower()  # type: ignore[attr-defined]
        raise ActionRefused(f"A {noun} that is {label} cannot be asked to {action.label.lower()}.")
    if resource_busy(resource):
        raise ActionRefused(f"Another operation on this {noun} is still running; wait until it ends.")
    return action


def action_queue(
    *,
    actor: AnyUser | None,
    team: Team | None,
    resource: models.Model,
    action: Action,
    task: str,
    audit_prefix: str,
    params: dict[str, Any] | None = None,
) -> Job:
    """Record the job of an accepted action, send its task after commit, and audit it as ``<prefix>.<slug>``.

    The job goes to the queue its resource asks for (``portal.queues``). ``actor`` None is the
    system (a lease that ended); the caller checked what a person would be checked for.
    """
    job = job_create(action=action.job_action, team=team, requested_by=actor, target=resource, params=params or {})
    job_enqueue(job, task)
    audit_record(
        actor=actor, action=f"{audit_prefix}.{action.slug}", target=resource, team=team, detail=str(params or "")
    )
    return job


def actions_allowed(
    actions: list[Action],
    *,
    role: str | None,
    state: str,
    busy: bool,
    user_id: int | None = None,
    owner_id: int | None = None,
) -> list[Action]:
    """Which of ``actions`` to offer as buttons: what the role, ownership and state allow, none while busy.

    ``user_id`` is the viewer and ``owner_id`` the resource's owner; without
    them the destructive actions are left out. The services check all of this
    again; this only decides what to show.
    """
    if busy or role is None:
        return []
    return [
        a for a in actions if state in a.allowed_states and may_act(a, role=role, user_id=user_id, owner_id=owner_id)
    ]
