"""The history JSON behind the VM and container charts: scoped like their pages, from rows only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.history import HOUR
from tests.factories.containers import ContainerFactory, ContainerStatSampleFactory
from tests.factories.hypervisors import VirtualMachineFactory, VMStatSampleFactory

pytestmark = pytest.mark.django_db


def vm_url(vm, window: str | None = None) -> str:
    url = reverse("vm-history", kwargs={"vm_uuid": vm.uuid})
    return f"{url}?window={window}" if window else url


def test_vm_history_gives_a_shared_time_axis_and_a_column_per_series(client_for, member, team, no_hypervisor):
    vm = VirtualMachineFactory(team=team, vcpus=1)
    now = timezone.now()
    VMStatSampleFactory(vm=vm, taken_at=now - timedelta(seconds=60), cpu_time_ns=0, memory_used_kib=2048)
    VMStatSampleFactory(vm=vm, taken_at=now, cpu_time_ns=30_000_000_000, memory_used_kib=4096)

    payload = client_for(member).get(vm_url(vm)).json()

    labels = [line["label"] for line in payload["series"]]
    assert labels[:2] == ["CPU", "Memory in use"]
    times, cpu, memory = payload["data"][0], payload["data"][1], payload["data"][2]
    assert times == [int((now - timedelta(seconds=60)).timestamp()), int(now.timestamp())]
    assert cpu == [None, 50.0], "30 s of CPU in 60 s on one vCPU; no rate before the first reading"
    assert memory == [2.0, 4.0]
    assert payload["end"] - payload["start"] == 3600


def test_longer_windows_reach_rolled_up_rows(client_for, member, team):
    vm = VirtualMachineFactory(team=team)
    VMStatSampleFactory(vm=vm, taken_at=timezone.now() - timedelta(days=30), period_seconds=HOUR)

    assert client_for(member).get(vm_url(vm, "1h")).json()["data"][0] == []
    assert len(client_for(member).get(vm_url(vm, "90d")).json()["data"][0]) == 1


def test_an_unknown_window_is_a_clear_error(client_for, member, team):
    vm = VirtualMachineFactory(team=team)
    response = client_for(member).get(vm_url(vm, "<script>"))
    assert response.status_code == 400
    assert "choose one of 1h, 24h, 7d, 90d" in response.json()["error"]


def test_history_of_another_teams_resources_is_404(client_for, outsider, team):
    vm, container = VirtualMachineFactory(team=team), ContainerFactory(team=team)
    assert client_for(outsider).get(vm_url(vm)).status_code == 404
    assert client_for(outsider).get(reverse("container-history", kwargs={"pk": container.pk})).status_code == 404


def test_history_needs_a_login(client, team):
    assert client.get(vm_url(VirtualMachineFactory(team=team))).status_code == 302


def test_container_history_and_the_pages_that_load_it(client_for, viewer, team, no_hypervisor):
    container = ContainerFactory(team=team)
    ContainerStatSampleFactory(container=container, cpu_percent=12.5, memory_used_kib=1024)
    url = reverse("container-history", kwargs={"pk": container.pk})

    payload = client_for(viewer).get(url).json()

    assert [line["key"] for line in payload["series"]] == ["cpu", "memory"]
    assert payload["data"][1:] == [[12.5], [1.0]]
    page = client_for(viewer).get(reverse("container-detail", kwargs={"pk": container.pk})).content.decode()
    assert f'data-history-url="{url}"' in page and "uPlot.iife.min.js" in page
    vm = VirtualMachineFactory(team=team)
    page = client_for(viewer).get(reverse("vm-detail", kwargs={"vm_uuid": vm.uuid})).content.decode()
    assert f'data-history-url="{vm_url(vm)}"' in page and 'data-window="90d"' in page
