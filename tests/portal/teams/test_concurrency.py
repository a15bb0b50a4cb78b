"""Two team admins removing or demoting each other at once leave the team one admin (PostgreSQL row locks)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from portal.choices import Role
from portal.models import Membership
from portal.teams.services import membership_remove, membership_role_change
from tests.support.threads import run_at_once

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
    pytest.mark.django_db(transaction=True),
]


def test_two_admins_removing_each_other_at_once_leave_one(team, team_admin, second_admin):
    admins = [team_admin, second_admin]
    memberships = [Membership.objects.get(team=team, user=user).pk for user in admins]

    def remove_the_other(i):
        return membership_remove(actor=admins[i], team=team, membership_id=memberships[1 - i])

    results, errors = run_at_once(remove_the_other, 2)
    assert len(results) == 1, errors
    [refusal] = errors.values()
    assert isinstance(refusal, ValidationError)
    assert "last team admin cannot be removed" in refusal.messages[0]
    assert Membership.objects.filter(team=team, role=Role.TEAM_ADMIN).count() == 1


def test_two_admins_stepping_down_at_once_leave_one(team, team_admin, second_admin):
    admins = [team_admin, second_admin]
    memberships = [Membership.objects.get(team=team, user=user).pk for user in admins]

    def step_down(i):
        return membership_role_change(actor=admins[i], team=team, membership_id=memberships[i], role=Role.MEMBER)

    results, errors = run_at_once(step_down, 2)
    assert len(results) == 1, errors
    assert [type(error) for error in errors.values()] == [ValidationError]
    assert Membership.objects.filter(team=team, role=Role.TEAM_ADMIN).count() == 1
