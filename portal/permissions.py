"""Role checks, done on the server by services and views; templates only hide what is refused here anyway."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from portal.choices import Role, roles_at_least
from portal.models import Membership, Team

AnyUser = User | AnonymousUser

#: The Django permission that lets staff approve and reject requests.
DECIDE_PERMISSION = "portal.decide_resourcerequest"
#: The backend whose permissions decide (the other one, django-axes, grants none).
PERMISSION_BACKEND = "django.contrib.auth.backends.ModelBackend"


def role_in(user: AnyUser, team: Team | int) -> str | None:
    """The user's role in a team; superusers act as team admins everywhere; None for outsiders."""
    if not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return Role.TEAM_ADMIN
    team_id = team if isinstance(team, int) else team.pk
    role: str | None = (
        Membership.objects.filter(user_id=user.pk, team_id=team_id).values_list("role", flat=True).first()
    )
    return role


def role_at_least(role: str | None, minimum: str) -> bool:
    """Whether ``role`` (None: no role at all) is ``minimum`` or above; the one place ranks are compared."""
    return role is not None and role in roles_at_least(minimum)


def has_role(user: AnyUser, team: Team | int, minimum: str) -> bool:
    """Whether the user holds at least ``minimum`` in the team."""
    return role_at_least(role_in(user, team), minimum)


def require_role(user: AnyUser, team: Team | int, minimum: str) -> None:
    """Raise ``PermissionDenied`` unless the user holds at least ``minimum`` in the team."""
    if not has_role(user, team, minimum):
        raise PermissionDenied(f"This needs the {Role(minimum).label.lower()} role in the team.")


def is_decider(user: AnyUser) -> bool:
    """Whether the user is a portal administrator: staff holding the decide permission (``is_staff`` alone is not)."""
    return bool(user.is_authenticated and getattr(user, "is_staff", False) and user.has_perm(DECIDE_PERMISSION))


def require_decider(user: AnyUser) -> None:
    """Raise ``PermissionDenied`` unless the user may approve and reject requests."""
    if not is_decider(user):
        raise PermissionDenied("Only portal administrators may approve or reject requests.")


def deciders() -> QuerySet[User]:
    """Everyone :func:`is_decider` accepts: active staff holding the decide permission (directly, by group, or as
    superusers). Who is told of a new ask waiting for a decision."""
    with_permission = User.objects.with_perm(DECIDE_PERMISSION, is_active=True, backend=PERMISSION_BACKEND)
    return with_permission.filter(is_staff=True)
