"""The API's ask goes through the same submission: a policy approves it there, and the answer says which."""

import pytest

from portal.models import Job
from tests.factories import AutoApprovalPolicyFactory
from tests.support.api import api_throttle_cache, token_client  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sent")]


def test_an_api_ask_in_policy_comes_back_approved_by_the_policy(member, team_admin, team, image, token_client):  # noqa: F811
    AutoApprovalPolicyFactory(name="small-vms", images=[f"vm:{image.pk}"])
    ask = {"name": "web", "team": team.pk, "image": image.pk, "vcpus": 1, "memory_mib": 128, "disk_gib": 1,
           "justification": "ci"}  # fmt: skip
    response = token_client(member).post("/api/v1/vms/", ask, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["state"], body["approval_policy"], body["decided_by"]) == ("approved", "small-vms", None)
    assert body["decision_reason"] == "approved by policy small-vms"
    assert Job.objects.filter(request_id=body["id"]).exists()
    events = token_client(team_admin).get("/api/v1/audit-events/", {"action": "request.approve"}).json()["results"]
    assert [(event["actor"], event["actor_label"]) for event in events] == [(None, "policy small-vms")]
