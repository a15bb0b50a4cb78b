"""A lease on an ask: prefilled with the team's default, refused past its maximum, none where allowed.

The page and the API share the kind's form, so both are checked; approval copies the lease to the VM.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from hypervisors.choices import HypervisorKind
from hypervisors.models import VirtualMachine
from hypervisors.vms.forms import VMRequestForm
from portal.leases.models import LeasePolicy
from portal.leases.policies import lease_end_of, lease_last_day
from portal.models import ResourceRequest
from portal.services import request_approve, request_submit
from tests.factories import HostFactory
from tests.portal.leases.conftest import days_from
from tests.support.api import errors_of
from tests.support.pages import csrf_post, field_errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(team, image):
    return {"name": "web", "team": str(team.pk), "image": str(image.pk), "vcpus": "1", "memory_mib": "128",
            "disk_gib": "1", "justification": "tests"}  # fmt: skip


def test_the_form_prefills_the_teams_default(member, vm_policy, today):
    form = VMRequestForm(user=member)
    assert form.fields["lease_ends_on"].initial == today + timedelta(days=30)
    assert "At most 90 days" in form.fields["lease_ends_on"].help_text


def test_the_page_shows_the_prefilled_date(client_for, member, vm_policy, today):
    page = client_for(member).get("/vms/new/").content.decode()
    assert f'name="lease_ends_on" value="{days_from(today, 30)}"' in page


def test_a_lease_within_the_maximum_is_stored(client_for, member, data, vm_policy, today):
    response = csrf_post(client_for(member), "/vms/new/", {**data, "lease_ends_on": days_from(today, 90)})
    assert response.status_code == 302
    assert lease_last_day(ResourceRequest.objects.get().lease_ends_at) == today + timedelta(days=90)


def test_a_lease_beyond_the_maximum_is_refused_where_it_was_typed(client_for, member, data, vm_policy, today):
    response = csrf_post(client_for(member), "/vms/new/", {**data, "lease_ends_on": days_from(today, 91)})
    assert response.status_code == 400
    assert "at most 90 days" in field_errors(response, "lease_ends_on")
    assert not ResourceRequest.objects.exists()


@pytest.mark.parametrize("value", ["yesterday", "2020-01-01", "9999-99-99"])
def test_a_bad_or_past_date_is_a_field_error(client_for, member, data, vm_policy, value):
    response = csrf_post(client_for(member), "/vms/new/", {**data, "lease_ends_on": value})
    assert response.status_code == 400
    assert field_errors(response, "lease_ends_on").strip()
    assert not ResourceRequest.objects.exists()


def test_no_lease_is_refused_where_a_maximum_applies(client_for, member, data, vm_policy):
    response = csrf_post(client_for(member), "/vms/new/", {**data, "lease_ends_on": ""})
    assert response.status_code == 400
    assert "pick a last day" in field_errors(response, "lease_ends_on")


def test_no_lease_is_allowed_without_a_maximum(client_for, member, data, team):
    LeasePolicy.objects.create(team=team, kind=HypervisorKind.VM, default_days=30, max_days=None)
    response = csrf_post(client_for(member), "/vms/new/", {**data, "lease_ends_on": ""})
    assert response.status_code == 302
    assert ResourceRequest.objects.get().lease_ends_at is None


def test_without_a_policy_there_is_no_default_and_no_maximum(member, data, today):
    form = VMRequestForm({**data, "lease_ends_on": days_from(today, 5000)}, user=member)
    assert VMRequestForm(user=member).fields["lease_ends_on"].initial is None
    assert form.is_valid(), form.errors


def test_the_api_takes_the_default_when_no_date_is_sent(token_client, member, team, image, vm_policy, today):
    ask = {"name": "web", "team": team.pk, "image": image.pk, "vcpus": 1, "memory_mib": 128, "disk_gib": 1,
           "justification": "ci"}  # fmt: skip
    response = token_client(member).post("/api/v1/vms/", ask, format="json")
    assert response.status_code == 201, response.content
    assert lease_last_day(ResourceRequest.objects.get().lease_ends_at) == today + timedelta(days=30)


def test_the_api_refuses_beyond_the_maximum_on_the_field(token_client, member, team, image, vm_policy, today):
    ask = {"name": "web", "team": team.pk, "image": image.pk, "vcpus": 1, "memory_mib": 128, "disk_gib": 1,
           "justification": "ci", "lease_ends_on": days_from(today, 120)}  # fmt: skip
    response = token_client(member).post("/api/v1/vms/", ask, format="json")
    assert response.status_code == 400
    assert "at most 90 days" in errors_of(response)["lease_ends_on"][0]
    assert not ResourceRequest.objects.exists()


def test_the_service_refuses_beyond_the_maximum_too(member, team, image, vm_policy, today):
    with pytest.raises(ValidationError) as refused:
        request_submit(actor=member, team=team, kind=HypervisorKind.VM, name="web", vcpus=1, memory_mib=128,
                       disk_gib=1, justification="x", spec={"image_id": image.pk},
                       lease_ends_at=lease_end_of(today + timedelta(days=91)))  # fmt: skip
    assert "lease_ends_on" in refused.value.message_dict


def test_approval_copies_the_lease_to_the_vm(member, team, image, vm_policy, staff, today, sent):
    HostFactory()
    ends = lease_end_of(today + timedelta(days=10))
    request = request_submit(
        actor=member, team=team, kind=HypervisorKind.VM, name="web", vcpus=1, memory_mib=128, disk_gib=1,
        justification="x", spec={"image_id": image.pk}, lease_ends_at=ends,
    )  # fmt: skip
    request_approve(actor=staff, request_id=request.pk)
    vm = VirtualMachine.objects.get(request=request)
    assert vm.lease_ends_at == ends
    assert vm.lease_deletes_at == ends + timedelta(days=7)


def test_a_policy_for_a_kind_without_leases_is_refused(team):
    policy = LeasePolicy(team=team, kind=HypervisorKind.NETWORK, default_days=1)
    with pytest.raises(ValidationError):
        policy.full_clean()
