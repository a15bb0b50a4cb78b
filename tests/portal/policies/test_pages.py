"""What people see of auto-approval: the message after asking, the request page, the audit and the policy admin."""

import pytest

from containers.choices import ContainerKind
from portal.models import AuditEvent, AutoApprovalPolicy
from tests.factories import AutoApprovalPolicyFactory, VirtualNetworkFactory
from tests.support.pages import csrf_post, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_hypervisor", "sent")]


@pytest.fixture
def data(team, image):
    """What a member types into the VM request form."""
    return {
        "name": "web", "team": str(team.pk), "image": str(image.pk), "vcpus": "1", "memory_mib": "128",
        "disk_gib": "1", "justification": "A web server",
    }  # fmt: skip


def test_the_asker_reads_that_a_policy_approved_the_ask(client_for, member, data):
    AutoApprovalPolicyFactory(name="small-vms")
    response = csrf_post(client_for(member), "/vms/new/", data, follow=True)
    page = text(response)
    assert "Your request for web was approved automatically by policy small-vms; it is being built." in page
    assert "approved by policy small-vms" in text(client_for(member).get("/requests/"))


def test_an_ask_outside_every_policy_is_sent_for_approval(client_for, member, data):
    AutoApprovalPolicyFactory(name="tiny", max_memory_mib=64)
    response = csrf_post(client_for(member), "/vms/new/", data, follow=True)
    assert "Your request for web was sent for approval." in text(response)


def test_the_admin_audit_list_shows_the_policy_as_the_actor(admin_client, client_for, member, data):
    AutoApprovalPolicyFactory(name="small-vms")
    csrf_post(client_for(member), "/vms/new/", data)
    page = text(admin_client.get("/admin/portal/auditevent/?action=request.approve"))
    assert "policy small-vms" in page
    assert "approved by policy small-vms" in page


def test_an_admin_writes_a_policy_from_the_registry_choices(admin_client, team, image):
    network = VirtualNetworkFactory(team=team)
    form = admin_client.get("/admin/portal/autoapprovalpolicy/add/")
    assert f'value="vm:{image.pk}"' in form.content.decode()
    assert f'value="vm:{network.pk}"' in form.content.decode()
    response = admin_client.post(
        "/admin/portal/autoapprovalpolicy/add/",
        {
            "name": "blue-small", "team": str(team.pk), "enabled": "on", "kinds": ["vm", ContainerKind.CONTAINER.value],
            "max_vcpus": "2", "max_memory_mib": "512", "max_disk_gib": "", "images": [f"vm:{image.pk}"],
            "networks": [f"vm:{network.pk}"], "max_lease_days": "7", "max_asks_per_user_per_day": "5",
        },
    )  # fmt: skip
    assert response.status_code == 302
    policy = AutoApprovalPolicy.objects.get()
    assert policy.kinds == ["vm", "container"]
    assert (policy.images, policy.networks, policy.max_disk_gib) == ([f"vm:{image.pk}"], [f"vm:{network.pk}"], None)
    assert AuditEvent.objects.filter(action="admin.autoapprovalpolicy.added", target_id=str(policy.pk)).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("kinds", ["spaceship"]), ("kinds", []), ("images", ["vm:999999"]), ("max_vcpus", "-1")],
)
def test_a_policy_with_bad_input_is_refused_and_nothing_stored(admin_client, field, value):
    fields = {"name": "bad", "enabled": "on", "kinds": ["vm"], field: value}
    response = admin_client.post("/admin/portal/autoapprovalpolicy/add/", fields)
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not AutoApprovalPolicy.objects.exists()
