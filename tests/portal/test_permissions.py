"""Role checks: the role a user holds in a team, ranks compared in one place, and the deciders of requests."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.exceptions import PermissionDenied

from portal.choices import Role
from portal.permissions import has_role, require_decider, require_role, role_at_least, role_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_role_in_a_team(team, member, viewer, team_admin, outsider, staff):
    assert role_in(member, team) == Role.MEMBER
    assert role_in(viewer, team.pk) == Role.VIEWER, "a team id does as well as a team"
    assert role_in(team_admin, team) == Role.TEAM_ADMIN
    assert role_in(outsider, team) is None
    assert role_in(AnonymousUser(), team) is None
    assert role_in(staff, team) == Role.TEAM_ADMIN, "superusers act as team admins everywhere"


@pytest.mark.parametrize(
    ("role", "minimum", "allowed"),
    [
        (Role.VIEWER, Role.VIEWER, True),
        (Role.VIEWER, Role.MEMBER, False),
        (Role.MEMBER, Role.MEMBER, True),
        (Role.MEMBER, Role.TEAM_ADMIN, False),
        (Role.TEAM_ADMIN, Role.MEMBER, True),
        (None, Role.VIEWER, False),
    ],
)
def test_roles_rank_viewer_member_team_admin(role, minimum, allowed):
    assert role_at_least(role, minimum) is allowed


def test_has_role_and_require_role(team, viewer, member, outsider):
    assert has_role(member, team, Role.MEMBER)
    assert not has_role(viewer, team, Role.MEMBER)
    require_role(member, team, Role.MEMBER)
    with pytest.raises(PermissionDenied, match=re.escape("This needs the member role in the team.")):
        require_role(viewer, team, Role.MEMBER)
    with pytest.raises(PermissionDenied, match="team admin role"):
        require_role(outsider, team, Role.TEAM_ADMIN)


def test_only_staff_with_the_decide_permission_decide(staff, member):
    require_decider(staff)
    clerk = UserFactory(username="clerk", is_staff=True)
    with pytest.raises(PermissionDenied, match="Only portal administrators"):
        require_decider(clerk)
    clerk.user_permissions.add(Permission.objects.get(codename="decide_resourcerequest"))
    clerk = type(clerk).objects.get(pk=clerk.pk)  # permissions are cached on the instance
    require_decider(clerk)
    for refused in (member, AnonymousUser()):
        with pytest.raises(PermissionDenied):
            require_decider(refused)
