"""Fixtures of the team pages: a second team admin and a user who belongs to no team yet."""

import pytest

from portal.choices import Role
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def second_admin(team):
    user = UserFactory(username="secondadmin")
    MembershipFactory(user=user, team=team, role=Role.TEAM_ADMIN)
    return user


@pytest.fixture
def newcomer(db):
    return UserFactory(username="newcomer", email="newcomer@example.org")
