"""The "KVM or Docker?" figures: computed from the portal's own jobs and samples, read by pages without a host."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from containers.choices import ContainerJobAction, ContainerState
from hypervisors.choices import VMJobAction
from overview.comparison import Size, figures_refresh, fits, percentile, typical_sizes
from overview.models import Platform, PlatformFigures
from overview.tasks import comparison_refresh
from portal.choices import JobState
from tests.factories.containers import ContainerFactory, ContainerStatSampleFactory, DockerHostFactory
from tests.factories.hypervisors import HostFactory, VirtualMachineFactory, VMStatSampleFactory
from tests.factories.portal import JobFactory

pytestmark = pytest.mark.django_db


def a_host(name: str, **fields):
    """A host row on an address of its own (host addresses are unique); nothing is reached."""
    return HostFactory(name=name, uri=f"qemu+ssh://root@{name}/system", **fields)


def finished_build(action: str, target, seconds: float, *, state: str = JobState.SUCCEEDED, age_days: int = 1):
    """A provisioning job of ``target`` approved ``age_days`` ago that took ``seconds`` to finish."""
    job = JobFactory(action=action, target=target, team=target.team, state=state)
    created = timezone.now() - timedelta(days=age_days)
    type(job).objects.filter(pk=job.pk).update(created_at=created, finished_at=created + timedelta(seconds=seconds))
    return job


def figures_of(platform: str, place) -> PlatformFigures:
    return PlatformFigures.objects.get(platform=platform, place_id=place.pk)


def test_percentile_is_nearest_rank():
    assert percentile([], 0.95) is None
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([float(n) for n in range(1, 101)], 0.95) == 95.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0


def test_vm_builds_give_median_and_p95_per_host_and_leave_out_failures_and_old_ones():
    host, other = a_host("kvm-a"), a_host("kvm-b")
    for seconds in (10, 20, 30, 40):
        finished_build(VMJobAction.VM_PROVISION, VirtualMachineFactory(host=host), seconds)
    finished_build(VMJobAction.VM_PROVISION, VirtualMachineFactory(host=host), 900, state=JobState.FAILED)
    finished_build(VMJobAction.VM_PROVISION, VirtualMachineFactory(host=host), 900, age_days=45)

    figures_refresh()

    figures = figures_of(Platform.KVM, host)
    assert (figures.builds, figures.start_median_seconds, figures.start_p95_seconds) == (4, 25.0, 40.0)
    assert figures_of(Platform.KVM, other).builds == 0
    assert figures_of(Platform.KVM, other).start_median_seconds is None


def test_vm_memory_beyond_the_size_given_comes_from_each_vms_newest_sample():
    host = HostFactory()
    vm = VirtualMachineFactory(host=host, memory_mib=128)
    VMStatSampleFactory(vm=vm, taken_at=timezone.now() - timedelta(minutes=5), memory_used_kib=100 * 1024)
    VMStatSampleFactory(vm=vm, memory_used_kib=160 * 1024)  # the newest: the QEMU process holds 160 MiB
    stopped = VirtualMachineFactory(host=host, memory_mib=128, state="shutoff")
    VMStatSampleFactory(vm=stopped, memory_used_kib=999 * 1024)

    figures_refresh()

    figures = figures_of(Platform.KVM, host)
    assert figures.instances_measured == 1
    assert figures.memory_overhead_mib_median == pytest.approx(32.0)
    assert figures.memory_use_percent_median == pytest.approx(125.0)


def test_container_figures_give_memory_in_use_of_the_limit_and_room_left(settings):
    engine = DockerHostFactory(cpus=4, memory_mib=1024)
    container = ContainerFactory(docker_host=engine, cpus=Decimal("1.5"), memory_mib=256)
    ContainerFactory(docker_host=engine, cpus=Decimal("0.5"), memory_mib=256, state=ContainerState.EXITED)
    ContainerStatSampleFactory(container=container, memory_used_kib=64 * 1024)
    finished_build(ContainerJobAction.CONTAINER_PROVISION, container, 2)

    figures_refresh()

    figures = figures_of(Platform.DOCKER, engine)
    assert figures.memory_use_percent_median == pytest.approx(25.0)
    assert figures.memory_overhead_mib_median is None
    assert (figures.free_cpus, figures.free_memory_mib) == (2.0, 512.0)
    assert figures.start_median_seconds == 2.0


def test_refresh_replaces_rows_and_drops_places_that_are_gone():
    host = a_host("kvm-a")
    gone = a_host("kvm-b")
    figures_refresh()
    gone.delete()
    finished_build(VMJobAction.VM_PROVISION, VirtualMachineFactory(host=host), 12)

    assert comparison_refresh() == 1
    assert list(PlatformFigures.objects.values_list("place_id", "builds")) == [(host.pk, 1)]


def test_how_many_more_fit_divides_the_room_by_the_typical_size(team):
    VirtualMachineFactory(team=team, vcpus=1, memory_mib=128)
    VirtualMachineFactory(team=team, vcpus=3, memory_mib=512)
    ContainerFactory(team=team, cpus=Decimal("0.5"), memory_mib=64)

    sizes = typical_sizes([team.pk])

    assert sizes[Platform.KVM] == Size(2, 320)
    assert sizes[Platform.DOCKER] == Size(0.5, 64)
    room = PlatformFigures(free_cpus=8, free_memory_mib=1000)
    assert fits(room, sizes[Platform.KVM]) == 3  # memory runs out first: 1000 // 320
    assert fits(room, None) is None
    assert fits(PlatformFigures(free_cpus=None, free_memory_mib=None), sizes[Platform.KVM]) is None
    assert fits(PlatformFigures(free_cpus=-2, free_memory_mib=100), sizes[Platform.KVM]) == 0


def test_page_shows_the_figures_and_the_fit_of_the_members_own_size(client_for, member, team, no_hypervisor):
    host = HostFactory(name="rack-a", cpus=4, memory_mib=2048)
    finished_build(VMJobAction.VM_PROVISION, VirtualMachineFactory(host=host, team=team, memory_mib=512), 30)
    figures_refresh()

    page = client_for(member).get(reverse("comparison"))

    assert page.status_code == 200
    text = page.content.decode()
    assert "rack-a" in text and "30.0 s" in text
    # Room: 4 CPUs x 4 over-commit - 1 = 15 vCPUs, 2048 - 512 = 1536 MiB; the team's VMs are 1 vCPU, 512 MiB.
    assert "<td>3</td>" in text


def test_page_and_hint_need_a_login(client):
    assert client.get(reverse("comparison")).status_code == 302
    assert client.get(reverse("comparison-hint"), {"kind": "vm"}).status_code == 302


def test_hint_names_both_platforms_and_is_empty_without_figures_or_for_other_kinds(client_for, member, team):
    hint = reverse("comparison-hint")
    assert client_for(member).get(hint, {"kind": "vm"}).content == b""

    finished_build(VMJobAction.VM_PROVISION, VirtualMachineFactory(host=HostFactory(), team=team), 20)
    finished_build(ContainerJobAction.CONTAINER_PROVISION, ContainerFactory(team=team), 1.5)
    figures_refresh()

    text = client_for(member).get(hint, {"kind": "vm"}).content.decode()
    assert "20.0 s" in text and "1.5 s for a container" in text
    assert client_for(member).get(hint, {"kind": "network"}).content == b""
    assert client_for(member).get(hint).content == b""


def test_request_form_loads_the_hint(client_for, member):
    page = client_for(member).get(reverse("vm-request"))
    assert f'hx-get="{reverse("comparison-hint")}?kind=vm"' in page.content.decode()
