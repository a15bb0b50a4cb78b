"""Reads of the shared domain: every one scoped to the teams the user belongs to, superusers seeing all."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from portal.choices import Role
from portal.selectors import job_get, jobs_for, request_get, requests_for, roles_of, team_with_quota, teams_for
from tests.factories import JobFactory, MembershipFactory, ResourceRequestFactory, TeamFactory

pytestmark = pytest.mark.django_db


def test_teams_for_members_anonymous_and_superusers(team, member, viewer, outsider, staff, red):
    green = TeamFactory(slug="green")
    MembershipFactory(user=member, team=green, role=Role.VIEWER)
    assert set(teams_for(member)) == {team, green}
    assert set(teams_for(member, minimum_role=Role.MEMBER)) == {team}, "only where the member may act"
    assert list(teams_for(viewer, minimum_role=Role.MEMBER)) == []
    assert list(teams_for(outsider)) == [red]
    assert list(teams_for(AnonymousUser())) == []
    assert set(teams_for(staff)) == {team, green, red}


def test_requests_are_scoped_to_the_users_teams(team, member, outsider, red):
    blue_request = ResourceRequestFactory(team=team, requested_by=member)
    red_request = ResourceRequestFactory(team=red, requested_by=outsider)
    assert list(requests_for(member)) == [blue_request]
    assert request_get(member, blue_request.pk) == blue_request
    with pytest.raises(Http404):
        request_get(member, red_request.pk)


def test_jobs_are_scoped_to_the_users_teams(team, member, outsider, red):
    blue_job = JobFactory(team=team, requested_by=member)
    red_job = JobFactory(team=red, requested_by=outsider)
    teamless = JobFactory(team=None)
    assert list(jobs_for(member)) == [blue_job]
    assert job_get(member, blue_job.pk) == blue_job
    for hidden in (red_job, teamless):
        with pytest.raises(Http404):
            job_get(member, hidden.pk)


def test_roles_of_a_user_by_team(team, member, staff, red):
    assert roles_of(member) == {team.pk: Role.MEMBER}
    assert roles_of(AnonymousUser()) == {}
    assert roles_of(staff) == {team.pk: Role.TEAM_ADMIN, red.pk: Role.TEAM_ADMIN}


def test_team_with_quota_only_for_the_users_teams(team, member, red, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = team_with_quota(member, team.pk)
        assert found.quota.vm_count == team.quota.vm_count, "the quota comes with the team"
    assert team_with_quota(member, red.pk) is None
