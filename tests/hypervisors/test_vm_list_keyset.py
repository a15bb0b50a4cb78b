"""The VM list past its count cap: keyset pages in every sort, both directions, and bad cursors."""

import re
from html import unescape

import pytest

from hypervisors.models import VirtualMachine
from hypervisors.vms.forms import VMFilterForm
from hypervisors.vms.views import VMListView
from tests.factories import HostFactory, VirtualMachineFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_hypervisor")]


@pytest.fixture
def client(client_for, member):
    return client_for(member)


@pytest.fixture
def long_list(team, monkeypatch):
    """130 VMs over three hosts (some not placed yet) with repeated sizes, and a cap of 20 rows."""
    monkeypatch.setattr(VMListView, "count_cap", 20)
    hosts = [HostFactory(name=f"kvm-{c}", uri=f"qemu+ssh://root@kvm-{c}/system") for c in "abc"]
    for i in range(130):
        VirtualMachineFactory(
            team=team, name=f"vm{i:03d}", host=None if i % 7 == 0 else hosts[i % 3],
            vcpus=1 + i % 4, memory_mib=128 * (1 + i % 5), state=["running", "shutoff", "paused"][i % 3],
        )  # fmt: skip


def names(response) -> list[str]:
    assert response.status_code == 200
    return [vm.name for vm in response.context["vms"]]


def link(response, text: str) -> str | None:
    found = re.search(rf'<a href="(\?[^"]*)">[^<]*{text}', response.content.decode())
    return unescape(found.group(1)) if found else None


@pytest.mark.parametrize("sort", VMFilterForm.SORTS)
def test_next_and_previous_links_walk_the_whole_list_in_order(client, long_list, sort):
    expected = [vm.name for vm in VirtualMachine.objects.order_by(*VMFilterForm.SORTS[sort])]
    if sort == "host":  # not placed yet: last, as on PostgreSQL
        placed = [vm.name for vm in VirtualMachine.objects.filter(host__isnull=False).order_by("host__name", "name")]
        expected = placed + [vm.name for vm in VirtualMachine.objects.filter(host__isnull=True).order_by("name")]
    response = client.get(f"/vms/?sort={sort}")
    assert "More than 20" in response.content.decode()
    pages = [names(response)]
    while (url := link(response, "Next")) is not None:
        response = client.get(f"/vms/{url}")
        pages.append(names(response))
    assert [name for page in pages for name in page] == expected
    assert [len(page) for page in pages] == [50, 50, 30]
    backwards = []
    while (url := link(response, "Previous")) is not None:
        response = client.get(f"/vms/{url}")
        backwards.append(names(response))
    assert backwards == pages[-2::-1]


def test_last_page_and_old_page_numbers(client, long_list, monkeypatch):
    monkeypatch.setattr(VMListView, "count_cap", 60)  # numbered links reach page 2 (60 rows) at most
    expected = [vm.name for vm in VirtualMachine.objects.order_by("name")]
    assert names(client.get("/vms/?page=last")) == expected[-50:]
    assert names(client.get("/vms/?page=2")) == expected[50:100]
    assert link(client.get("/vms/?page=last"), "Next") is None


def test_links_keep_the_filters(client, long_list):
    response = client.get("/vms/?q=vm0&sort=-name")
    url = link(response, "Next")
    assert url.startswith("?q=vm0&sort=-name&after=")
    assert names(client.get(f"/vms/{url}")) == [f"vm0{i:02d}" for i in range(49, -1, -1)]


@pytest.mark.parametrize("cursor", ["x", "!!!", "W10", "WyJhIiwiYiIsMV0", "WzEsMiwzLDQsNV0", "eyJhIjoxfQ"])
def test_bad_cursors_never_fail_the_page(client, long_list, cursor):
    for direction in ("after", "before"):
        assert client.get(f"/vms/?{direction}={cursor}").status_code == 200


def test_short_lists_keep_numbered_pages(client, long_list, monkeypatch):
    monkeypatch.setattr(VMListView, "count_cap", 1000)
    response = client.get("/vms/")
    assert "Page 1 of 3" in response.content.decode()
    assert link(response, "Next") == "?page=2"
