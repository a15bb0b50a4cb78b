"""Team admins run their team: add people, change roles, remove members.

Every change locks the team row first (the lock quota checks use too), so two admins
acting at once serialize: the last team admin can never be removed or demoted by two
concurrent changes that each saw another admin left. Each change is audited and the
person concerned is told.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse

from portal.audit import audit_record
from portal.choices import Role
from portal.models import Membership, Team
from portal.notifications.categories import NotificationCategory
from portal.notifications.services import notify
from portal.permissions import require_role, role_at_least, role_in
from portal.quotas import team_lock

AnyUser = User | AnonymousUser


def role_grantable(actor_role: str | None, role: str) -> bool:
    """Whether someone holding ``actor_role`` may give (or take away) ``role``: never above their own."""
    return role in Role.values and role_at_least(actor_role, role)


def _manager_role(actor: AnyUser, team: Team) -> str:
    """The actor's role, once checked to be team admin (staff who are superusers count as one)."""
    require_role(actor, team, Role.TEAM_ADMIN)
    role = role_in(actor, team)
    assert role is not None  # require_role refused everyone without one
    return role


def _role_checked(actor_role: str, role: str) -> str:
    if role not in Role.values:
        raise ValidationError({"role": f"{role!r} is not a role."})
    if not role_grantable(actor_role, role):
        raise PermissionDenied("You cannot give a role above your own.")
    return role


def _user_find(identifier: str) -> User:
    """An active user by username or e-mail address (either, case-insensitive); a clear error otherwise."""
    identifier = identifier.strip()
    if not identifier:
        raise ValidationError({"user": "Give a username or an e-mail address."})
    field = "email__iexact" if "@" in identifier else "username__iexact"
    found = list(User.objects.filter(is_active=True, **{field: identifier})[:2])
    if not found:
        raise ValidationError({"user": f"No user {identifier!r} was found."})
    if len(found) > 1:
        raise ValidationError({"user": f"Several users have {identifier!r}; give the username instead."})
    return found[0]


def _admins_left(team: Team, without: Membership) -> int:
    """How many team admins the team keeps once ``without`` stops being one."""
    return Membership.objects.filter(team=team, role=Role.TEAM_ADMIN).exclude(pk=without.pk).count()


def _locked_membership(team: Team, membership_id: int) -> Membership:
    membership = Membership.objects.select_for_update().select_related("user").filter(pk=membership_id, team=team)
    found = membership.first()
    if found is None:
        raise ValidationError("This person is not a member of the team (any more).")
    return found


def _tell(user: User, team: Team, subject: str, body: str = "", with_link: bool = True) -> None:
    url = reverse("team-detail", args=[team.slug]) if with_link else ""
    notify(users=[user], category=NotificationCategory.TEAM_MEMBERSHIP, subject=subject, body=body, url=url)


@transaction.atomic
def membership_add(*, actor: AnyUser, team: Team, user_identifier: str, role: str) -> Membership:
    """Add an existing user to the team with ``role`` (at most the actor's own)."""
    actor_role = _manager_role(actor, team)
    _role_checked(actor_role, role)
    locked_team = team_lock(team.pk)
    user = _user_find(user_identifier)
    if Membership.objects.filter(team=locked_team, user=user).exists():
        raise ValidationError({"user": f"{user.get_username()} is already a member of the team."})
    membership = Membership.objects.create(team=locked_team, user=user, role=role)
    label = Role(role).label
    audit_record(actor=actor, action="team.member_add", target=membership, team=locked_team, detail=label)
    _tell(user, locked_team, f"You were added to team {locked_team.name} as {label.lower()}")
    return membership


@transaction.atomic
def membership_role_change(*, actor: AnyUser, team: Team, membership_id: int, role: str) -> Membership:
    """Give a member another role; the team keeps at least one team admin."""
    actor_role = _manager_role(actor, team)
    _role_checked(actor_role, role)
    locked_team = team_lock(team.pk)
    membership = _locked_membership(locked_team, membership_id)
    if not role_grantable(actor_role, membership.role):
        raise PermissionDenied("You cannot change the role of someone above you.")
    if membership.role == role:
        return membership
    if membership.role == Role.TEAM_ADMIN and not _admins_left(locked_team, membership):
        raise ValidationError({"role": "The team's last team admin cannot be demoted; make someone else admin first."})
    before = membership.get_role_display()
    membership.role = role
    membership.save(update_fields=["role"])
    after = membership.get_role_display()
    detail = f"{before} → {after}"
    audit_record(actor=actor, action="team.member_role", target=membership, team=locked_team, detail=detail)
    _tell(membership.user, locked_team, f"Your role in team {locked_team.name} is now {after.lower()}", detail)
    return membership


@transaction.atomic
def membership_remove(*, actor: AnyUser, team: Team, membership_id: int) -> None:
    """Remove a member from the team; the team keeps at least one team admin."""
    actor_role = _manager_role(actor, team)
    locked_team = team_lock(team.pk)
    membership = _locked_membership(locked_team, membership_id)
    if not role_grantable(actor_role, membership.role):
        raise PermissionDenied("You cannot remove someone above you.")
    if membership.role == Role.TEAM_ADMIN and not _admins_left(locked_team, membership):
        raise ValidationError("The team's last team admin cannot be removed; make someone else admin first.")
    audit_record(
        actor=actor, action="team.member_remove", target=membership, team=locked_team, detail=str(membership.user)
    )
    membership.delete()
    _tell(membership.user, locked_team, f"You were removed from team {locked_team.name}", with_link=False)
