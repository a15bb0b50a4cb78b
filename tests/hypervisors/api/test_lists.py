"""VM lists page by cursor, filter and sort on indexed columns, in a number of queries independent of size."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from hypervisors.models import VirtualMachine
from tests.factories import HostFactory, ImageFactory, UserFactory, VirtualMachineFactory, VMStatSampleFactory
from tests.support.api import errors_of

pytestmark = pytest.mark.django_db


def names(response):
    return [vm["name"] for vm in response.json()["results"]]


def test_cursor_pages_newest_first_without_repeats(member, team, token_client):
    for number in range(7):
        VirtualMachineFactory(team=team, name=f"vm{number}")
    client = token_client(member)
    seen, url = [], "/api/v1/vms/?page_size=3"
    while url:
        body = client.get(url).json()
        seen += [vm["name"] for vm in body["results"]]
        url = body["next"]
    assert seen == [f"vm{n}" for n in reversed(range(7))]


def test_filters(member, team, token_client):
    host, image = HostFactory(name="h1"), ImageFactory()
    VirtualMachineFactory(team=team, name="a", host=host, image=image, state="shutoff")
    VirtualMachineFactory(team=team, name="b", state="running")
    old = VirtualMachineFactory(team=team, name="c")
    VirtualMachine.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    client = token_client(member)
    assert names(client.get("/api/v1/vms/?state=shutoff")) == ["a"]
    assert names(client.get(f"/api/v1/vms/?host={host.pk}")) == ["a"]
    assert names(client.get(f"/api/v1/vms/?image={image.pk}")) == ["a"]
    assert names(client.get(f"/api/v1/vms/?team={team.pk}&ordering=name")) == ["a", "b", "c"]
    before = (timezone.now() - timedelta(days=1)).isoformat()
    assert names(client.get("/api/v1/vms/", {"created_before": before})) == ["c"]
    assert sorted(names(client.get("/api/v1/vms/", {"created_after": before}))) == ["a", "b"]
    response = client.get("/api/v1/vms/?state=exploded")
    assert response.status_code == 400 and "state" in errors_of(response)
    # An offset no database stores is read as the UTC time it means; a time past the calendar is a 400.
    assert client.get("/api/v1/vms/", {"created_after": "0611-09-12T13:31:08-21:40"}).status_code == 200
    for value in ("9999-12-31T23:00:00-05:00", "yesterday"):
        response = client.get("/api/v1/vms/", {"created_after": value})
        assert response.status_code == 400 and "created_after" in errors_of(response)


def test_ordering_only_on_indexed_columns(member, team, token_client):
    VirtualMachineFactory(team=team, name="a", memory_mib=256)
    VirtualMachineFactory(team=team, name="b", memory_mib=512)
    client = token_client(member)
    assert names(client.get("/api/v1/vms/?ordering=name")) == ["a", "b"]
    assert names(client.get("/api/v1/vms/?ordering=-name")) == ["b", "a"]
    # memory has no index of its own to page by: the order stays the default, newest first.
    assert names(client.get("/api/v1/vms/?ordering=memory_mib")) == ["b", "a"]


def queries_of(client, url) -> int:
    """The queries one call makes, counted as they run (Django empties its query log when a request starts)."""
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        assert client.get(url).status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_the_team(member, team, token_client):
    client = token_client(member)
    counts = []
    for total in (5, 40):
        host = HostFactory(uri=f"qemu+ssh://h{total}/system")
        VirtualMachineFactory.create_batch(total - VirtualMachine.objects.count(), team=team, host=host)
        client.get("/api/v1/vms/")  # the token's first use writes; count a steady call
        counts.append(queries_of(client, "/api/v1/vms/?page_size=50"))
    assert 0 < counts[0] == counts[1]


def test_a_vm_shows_snapshots_interfaces_and_load_samples(member, team, token_client):
    vm = VirtualMachineFactory(team=team)
    VMStatSampleFactory(vm=vm, cpu_time_ns=5)
    VMStatSampleFactory(vm=vm, taken_at=timezone.now() - timedelta(hours=5))
    client = token_client(member)
    detail = client.get(f"/api/v1/vms/{vm.uuid}/").json()
    assert detail["snapshots"] == [] and detail["interfaces"] == []
    samples = client.get(f"/api/v1/vms/{vm.uuid}/samples/").json()
    assert [s["cpu_time_ns"] for s in samples] == [5]
    assert len(client.get(f"/api/v1/vms/{vm.uuid}/samples/?since=2000-01-01T00:00:00Z").json()) == 2
    assert client.get(f"/api/v1/vms/{vm.uuid}/samples/?since=yesterday").status_code == 400


def test_only_json_is_accepted(member, team, token_client):
    vm = VirtualMachineFactory(team=team, host=HostFactory())
    response = token_client(member).post(f"/api/v1/vms/{vm.uuid}/resize/", {"vcpus": 2, "memory_mib": 128})
    assert response.status_code == 415
    errors_of(response)


def test_resize_over_quota_is_400_on_the_field(member, team, token_client):
    vm = VirtualMachineFactory(team=team, host=HostFactory(), vcpus=1)
    response = token_client(member).post(
        f"/api/v1/vms/{vm.uuid}/resize/", {"vcpus": 64, "memory_mib": 128}, format="json"
    )
    assert response.status_code == 400
    assert errors_of(response)["vcpus"][0].startswith("vCPUs: over quota")
    bad = token_client(member).post(f"/api/v1/vms/{vm.uuid}/resize/", {"vcpus": 0, "memory_mib": 128}, format="json")
    assert bad.status_code == 400 and set(errors_of(bad)) == {"vcpus"}


def test_hosts_members_see_where_their_vms_are_and_staff_see_capacity(member, team, token_client):
    mine, other = HostFactory(name="mine"), HostFactory(name="other", uri="qemu+ssh://other/system")
    VirtualMachineFactory(team=team, host=mine)
    listed = token_client(member).get("/api/v1/hosts/").json()["results"]
    assert [h["name"] for h in listed] == ["mine"] and "cpus" not in listed[0]
    assert token_client(member).get(f"/api/v1/hosts/{other.pk}/").status_code == 404
    staff = UserFactory(username="ops", is_staff=True)
    listed = token_client(staff).get("/api/v1/hosts/").json()["results"]
    assert [h["name"] for h in listed] == ["mine", "other"] and listed[0]["cpus"] == 16


def test_images_offered_only(member, token_client):
    ImageFactory(name="live", graphical_console=True)
    ImageFactory(name="retired", is_active=False)
    listed = token_client(member).get("/api/v1/images/").json()["results"]
    assert [(i["name"], i["graphical_console"]) for i in listed] == [("live", True)]
