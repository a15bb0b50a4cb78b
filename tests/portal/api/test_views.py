"""Teams, requests, decisions, jobs and audit through the API: the same scope and rules as the pages."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from hypervisors.choices import HypervisorKind
from portal.choices import RequestState, Role
from portal.models import AuditEvent, Job, ResourceRequest
from tests.factories import (
    AuditEventFactory,
    HostFactory,
    ImageFactory,
    JobFactory,
    MembershipFactory,
    ResourceRequestFactory,
    TeamFactory,
    UserFactory,
)
from tests.support.api import errors_of

pytestmark = pytest.mark.django_db


def usage_of(body, resource):
    return next(row for row in body["usage"] if row["resource"] == resource)


def test_teams_show_role_and_quota_usage(member, team, outsider, token_client):
    ResourceRequestFactory(team=team, vcpus=Decimal("2"), memory_mib=256)
    body = token_client(member).get("/api/v1/teams/").json()
    assert [t["slug"] for t in body["results"]] == ["blue"]
    blue = body["results"][0]
    assert blue["role"] == Role.MEMBER
    assert usage_of(blue, "vcpus") == {
        "resource": "vcpus", "label": usage_of(blue, "vcpus")["label"], "limit": 8, "used": 0, "pending": 2, "free": 6,
    }  # fmt: skip


def test_another_team_is_404(member, red, token_client):
    response = token_client(member).get(f"/api/v1/teams/{red.pk}/")
    assert response.status_code == 404
    assert errors_of(response) == {}


def test_a_token_restricted_to_one_team_sees_only_that_team(member, team, token_client):
    green = TeamFactory(slug="green", name="green")
    MembershipFactory(user=member, team=green, role=Role.MEMBER)
    theirs = ResourceRequestFactory(team=green)
    mine = ResourceRequestFactory(team=team)
    client = token_client(member, teams=[team])
    assert [t["slug"] for t in client.get("/api/v1/teams/").json()["results"]] == ["blue"]
    assert [r["id"] for r in client.get("/api/v1/requests/").json()["results"]] == [mine.pk]
    assert client.get(f"/api/v1/requests/{theirs.pk}/").status_code == 404
    assert client.post(f"/api/v1/requests/{theirs.pk}/cancel/").status_code == 404
    assert token_client(member).get(f"/api/v1/requests/{theirs.pk}/").status_code == 200


def test_requests_list_filters_by_state_and_kind(member, team, token_client):
    pending = ResourceRequestFactory(team=team)
    ResourceRequestFactory(team=team, state=RequestState.REJECTED)
    client = token_client(member)
    assert [r["id"] for r in client.get("/api/v1/requests/?state=pending").json()["results"]] == [pending.pk]
    assert client.get(f"/api/v1/requests/?kind={HypervisorKind.VM}").json()["results"]
    assert client.get("/api/v1/requests/?state=nonsense").status_code == 400


def test_cancel_by_the_author_and_not_by_a_viewer(member, viewer, team, token_client):
    mine = ResourceRequestFactory(team=team, requested_by=member)
    response = token_client(viewer).post(f"/api/v1/requests/{mine.pk}/cancel/")
    assert response.status_code == 403
    assert "cancel" in response.json()["detail"]
    response = token_client(member).post(f"/api/v1/requests/{mine.pk}/cancel/")
    assert response.status_code == 200 and response.json()["state"] == RequestState.CANCELLED
    again = token_client(member).post(f"/api/v1/requests/{mine.pk}/cancel/")
    assert again.status_code == 409


@pytest.fixture
def decider(db):
    """Staff holding the decide permission, member of no team."""
    user = UserFactory(username="decider", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="decide_resourcerequest"))
    return user


def test_deciders_list_every_team_s_pending_requests(decider, member, team, red, token_client):
    blue_ask, red_ask = ResourceRequestFactory(team=team), ResourceRequestFactory(team=red)
    ResourceRequestFactory(team=team, state=RequestState.REJECTED)
    listed = token_client(decider).get("/api/v1/requests/pending/").json()
    assert [r["id"] for r in listed] == [blue_ask.pk, red_ask.pk]
    assert token_client(member).get("/api/v1/requests/pending/").json() == []


def test_approve_starts_the_provisioning_job_and_is_audited(decider, team, sent, token_client):
    HostFactory()
    image = ImageFactory()
    ask = ResourceRequestFactory(team=team, spec={"image_id": image.pk, "image": image.name, "network_ids": []})
    response = token_client(decider).post(f"/api/v1/requests/{ask.pk}/approve/", {"reason": "ok"}, format="json")
    assert response.status_code == 202
    job = Job.objects.get()
    assert response["Location"] == f"/api/v1/jobs/{job.pk}/" and response.json()["id"] == job.pk
    assert AuditEvent.objects.filter(action="request.approve", actor=decider).exists()
    assert token_client(decider).post(f"/api/v1/requests/{ask.pk}/approve/").status_code == 409


def test_reject_needs_a_reason(decider, team, token_client):
    ask = ResourceRequestFactory(team=team)
    client = token_client(decider)
    response = client.post(f"/api/v1/requests/{ask.pk}/reject/", {"reason": " "}, format="json")
    assert response.status_code == 400
    assert "reason" in errors_of(response)
    response = client.post(f"/api/v1/requests/{ask.pk}/reject/", {"reason": "too big"}, format="json")
    assert response.status_code == 200 and response.json()["decision_reason"] == "too big"
    assert AuditEvent.objects.filter(action="request.reject").count() == 1


def test_members_and_team_admins_cannot_decide(member, team_admin, team, token_client):
    ask = ResourceRequestFactory(team=team)
    for user in (member, team_admin):
        assert token_client(user).post(f"/api/v1/requests/{ask.pk}/approve/").status_code == 404
    assert ResourceRequest.objects.get().state == RequestState.PENDING


def test_jobs_show_their_step_log_and_not_other_teams(member, team, red, token_client):
    job = JobFactory(team=team, log=[{"time": "2026-01-01T00:00:00Z", "message": "Defining the domain"}])
    other = JobFactory(team=red)
    client = token_client(member)
    body = client.get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["log"][0]["message"] == "Defining the domain" and "traceback" not in body
    assert client.get(f"/api/v1/jobs/{other.pk}/").status_code == 404
    assert [j["id"] for j in client.get("/api/v1/jobs/").json()["results"]] == [job.pk]


def test_jobs_page_by_cursor(member, team, token_client):
    jobs = [JobFactory(team=team) for _ in range(5)]
    client = token_client(member)
    first = client.get("/api/v1/jobs/?page_size=2").json()
    assert [j["id"] for j in first["results"]] == [jobs[4].pk, jobs[3].pk]
    second = client.get(first["next"]).json()
    assert [j["id"] for j in second["results"]] == [jobs[2].pk, jobs[1].pk]


def test_audit_events_are_for_team_admins_of_that_team(member, team_admin, team, red, token_client):
    event = AuditEventFactory(team=team)
    AuditEventFactory(team=red)
    assert token_client(member).get("/api/v1/audit-events/").json()["results"] == []
    listed = token_client(team_admin).get("/api/v1/audit-events/").json()["results"]
    assert [e["id"] for e in listed] == [event.pk]


def test_session_writes_need_csrf(member, team, session_client):
    ask = ResourceRequestFactory(team=team, requested_by=member)
    client = session_client(member)
    assert client.get("/api/v1/requests/").status_code == 200
    response = client.post(f"/api/v1/requests/{ask.pk}/cancel/")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
