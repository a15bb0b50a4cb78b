"""A host's load samples through the API: for portal administrators only, like the host pages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hypervisors.models import HostStatSample
from tests.factories import HostFactory, UserFactory, VirtualMachineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def host_with_samples(team):
    host = HostFactory(name="kvm1", uri="qemu+ssh://root@kvm1/system")
    VirtualMachineFactory(team=team, host=host, name="web")  # so members of the team see the host
    now = timezone.now()
    for minutes in (90, 20, 10):
        HostStatSample.objects.create(
            host=host, taken_at=now - timedelta(minutes=minutes), cpu_busy_ns=minutes, running_domains=1
        )
    return host


def test_staff_read_the_last_hour_oldest_first(token_client, host_with_samples):
    staff = UserFactory(username="operator", is_staff=True)
    response = token_client(staff).get(f"/api/v1/hosts/{host_with_samples.pk}/samples/")
    assert response.status_code == 200, response.content
    assert [row["cpu_busy_ns"] for row in response.json()] == [20, 10]


def test_since_reaches_further_back(token_client, host_with_samples):
    staff = UserFactory(username="operator", is_staff=True)
    since = (timezone.now() - timedelta(hours=2)).isoformat()
    response = token_client(staff).get(f"/api/v1/hosts/{host_with_samples.pk}/samples/", {"since": since})
    assert [row["cpu_busy_ns"] for row in response.json()] == [90, 20, 10]


def test_members_who_see_the_host_do_not_see_its_load(token_client, member, host_with_samples):
    client = token_client(member)
    assert client.get(f"/api/v1/hosts/{host_with_samples.pk}/").status_code == 200
    response = client.get(f"/api/v1/hosts/{host_with_samples.pk}/samples/")
    assert response.status_code == 403
    assert response.json()["detail"] == "A host's load is shown to portal administrators only."


def test_a_host_out_of_sight_is_404(token_client, outsider, host_with_samples):
    assert token_client(outsider).get(f"/api/v1/hosts/{host_with_samples.pk}/samples/").status_code == 404
