"""Snapshots count against the team's quota: their number, and their size (as the host reports it) as disk."""

from __future__ import annotations

import pytest

from hypervisors.models import Snapshot
from hypervisors.vms.services import vm_snapshot_request
from portal.models import Job, Team
from portal.quotas import QuotaExceeded, quota_bars, teams_usage
from tests.factories import HostFactory, VirtualMachineFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sent")]
GIB = 1024**3


def usage_of(team):
    team = Team.objects.select_related("quota").get(pk=team.pk)
    return teams_usage([team])[team.pk]


@pytest.fixture
def vm(team, member):
    return VirtualMachineFactory(team=team, owner=member, host=HostFactory(), state="shutoff", disk_gib=1)


def test_snapshots_past_the_count_are_refused_at_request_time(vm, member, team):
    team.quota.snapshot_count = 1
    team.quota.save()
    vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-create", name="one")
    assert usage_of(team).used.snapshot_count == 1, "counted while it is being taken"
    Snapshot.objects.filter(vm=vm).update(size_bytes=0)  # the worker took it
    Job.objects.update(state="succeeded")
    with pytest.raises(QuotaExceeded, match=r"Snapshots: over quota by 1 \(asked 1, 0 left\)"):
        vm_snapshot_request(actor=member, vm_id=vm.pk, slug="snapshot-create", name="two")
    assert list(Snapshot.objects.values_list("name", flat=True)) == ["one"]


def test_snapshot_sizes_count_against_the_disk_quota(vm, team):
    Snapshot.objects.create(vm=vm, name="a", size_bytes=GIB + 1)
    Snapshot.objects.create(vm=vm, name="b", size_bytes=GIB // 2)
    used = usage_of(team).used
    assert (used.disk_gib, used.snapshot_count) == (1 + 2, 2), "the VM's disk plus 1.5 GiB rounded up"
    bar = next(b for b in quota_bars(usage_of(team)) if b.resource.field == "snapshot_count")
    assert (bar.used, bar.limit) == (2, 10)


def test_a_running_vms_snapshot_needs_disk_quota_for_its_memory(team, member):
    running = VirtualMachineFactory(team=team, owner=member, host=HostFactory(), state="running", disk_gib=1)
    team.quota.disk_gib = 1  # all of it taken by the VM's disk
    team.quota.save()
    with pytest.raises(QuotaExceeded, match="Disk: over quota by 1 GiB"):
        vm_snapshot_request(actor=member, vm_id=running.pk, slug="snapshot-create", name="with-ram")
    assert not Snapshot.objects.exists()
