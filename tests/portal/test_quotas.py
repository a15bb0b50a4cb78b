"""Quota arithmetic: amounts, usage counted from rows, the check, shortfall messages and bars."""

from decimal import Decimal

import pytest

from hypervisors.choices import HypervisorKind
from portal.choices import RequestState
from portal.kinds import kind_handlers
from portal.models import Team
from portal.quotas import (
    RESOURCES,
    Amounts,
    QuotaExceeded,
    Shortfall,
    TeamUsage,
    amounts_sum,
    demand_of,
    quota_bars,
    quota_check,
    quota_limits,
    shortfalls,
    teams_usage,
)
from portal.services import request_submit
from tests.factories import (
    MembershipFactory,
    QuotaFactory,
    ResourceRequestFactory,
    TeamFactory,
    UserFactory,
    VirtualMachineFactory,
)

RESOURCE = {r.field: r for r in RESOURCES}


def vm_demand(vcpus=1, memory_mib=128, disk_gib=1):
    return demand_of(kind=HypervisorKind.VM, vcpus=vcpus, memory_mib=memory_mib, disk_gib=disk_gib)


def usage_of(team):
    team = Team.objects.select_related("quota").get(pk=team.pk)
    return teams_usage([team])[team.pk]


# -- Amounts ---------------------------------------------------------------------------------


def test_amounts_add_sub_and_get():
    a = Amounts(vcpus=Decimal("1.5"), memory_mib=256, disk_gib=10, vm_count=1, container_count=2)
    b = Amounts(vcpus=Decimal("0.5"), memory_mib=128, disk_gib=3, vm_count=1)
    assert a + b == Amounts(vcpus=Decimal("2.0"), memory_mib=384, disk_gib=13, vm_count=2, container_count=2)
    assert a - b == Amounts(vcpus=Decimal("1.0"), memory_mib=128, disk_gib=7, vm_count=0, container_count=2)
    assert (b - a).memory_mib == -128, "subtraction may go negative: an overshoot must stay visible"
    assert a.get("memory_mib") == 256
    assert a.get("vcpus") == Decimal("1.5")
    assert Amounts() == Amounts(Decimal("0"), 0, 0, 0, 0)


def test_amounts_sum():
    items = [Amounts(memory_mib=1, vm_count=1), Amounts(memory_mib=2), Amounts(vcpus=Decimal("3"), vm_count=1)]
    assert amounts_sum(items) == Amounts(vcpus=Decimal("3"), memory_mib=3, vm_count=2)
    assert amounts_sum([]) == Amounts()


def test_demand_of_a_vm_counts_one_vm():
    assert vm_demand(vcpus=2, memory_mib=512, disk_gib=4) == Amounts(
        vcpus=Decimal("2"), memory_mib=512, disk_gib=4, vm_count=1
    )


def test_quota_limits_without_quota_is_nothing():
    assert quota_limits(None) == Amounts()


# -- usage counted from rows -------------------------------------------------------------------


@pytest.mark.django_db
def test_teams_usage_splits_used_reserved_pending(team):
    user = UserFactory()

    def req(state, vcpus, memory, disk, name):
        return ResourceRequestFactory(
            team=team, requested_by=user, name=name, state=state, vcpus=vcpus, memory_mib=memory, disk_gib=disk
        )

    # used: a VM without request, and one whose request is fulfilled
    VirtualMachineFactory(team=team, name="plain", vcpus=1, memory_mib=100, disk_gib=1)
    fulfilled = req(RequestState.FULFILLED, 2, 200, 2, "done")
    VirtualMachineFactory(team=team, name="done", request=fulfilled, vcpus=2, memory_mib=200, disk_gib=2)
    # reserved: approved (with its VM row already created) and provisioning
    approved = req(RequestState.APPROVED, 4, 400, 4, "approved")
    VirtualMachineFactory(team=team, name="approved", request=approved, vcpus=4, memory_mib=400, disk_gib=4)
    req(RequestState.PROVISIONING, 8, 800, 8, "building")
    # pending
    req(RequestState.PENDING, 16, 1600, 16, "waiting")
    # finished asks hold nothing
    for state in (RequestState.REJECTED, RequestState.CANCELLED, RequestState.FAILED):
        req(state, 32, 3200, 32, f"gone-{state}")

    usage = usage_of(team)

    assert usage.used == Amounts(vcpus=Decimal("3"), memory_mib=300, disk_gib=3, vm_count=2)
    assert usage.reserved == Amounts(vcpus=Decimal("12"), memory_mib=1200, disk_gib=12, vm_count=2)
    assert usage.pending == Amounts(vcpus=Decimal("16"), memory_mib=1600, disk_gib=16, vm_count=1)
    assert usage.committed == usage.used + usage.reserved
    assert usage.limits == Amounts(
        vcpus=Decimal("8"), memory_mib=4096, disk_gib=100, vm_count=10, container_count=10, snapshot_count=10
    )
    assert usage.free == usage.limits - usage.committed - usage.pending


@pytest.mark.django_db
def test_teams_usage_keeps_teams_apart_and_excludes_a_request(team):
    other = TeamFactory()
    user = UserFactory()
    mine = ResourceRequestFactory(team=team, requested_by=user, vcpus=2, memory_mib=256)
    ResourceRequestFactory(team=other, requested_by=user, vcpus=3, memory_mib=512)
    VirtualMachineFactory(team=other, memory_mib=64, vcpus=1)
    idle = TeamFactory()

    teams = list(Team.objects.select_related("quota").filter(pk__in=[team.pk, other.pk, idle.pk]))
    usage = teams_usage(teams)
    assert usage[team.pk].pending == Amounts(vcpus=Decimal("2"), memory_mib=256, disk_gib=1, vm_count=1)
    assert usage[team.pk].used == Amounts()
    assert usage[other.pk].pending.memory_mib == 512
    assert usage[other.pk].used == Amounts(vcpus=Decimal("1"), memory_mib=64, disk_gib=1, vm_count=1)
    assert usage[idle.pk].used == usage[idle.pk].reserved == usage[idle.pk].pending == Amounts()

    without = teams_usage(teams, exclude_request_id=mine.pk)
    assert without[team.pk].pending == Amounts()
    assert without[other.pk].pending.memory_mib == 512


@pytest.mark.django_db
def test_teams_usage_in_constant_queries(team, django_assert_max_num_queries):
    user = UserFactory()
    teams = [team, *(TeamFactory() for _ in range(5))]
    for t in teams:
        ResourceRequestFactory(team=t, requested_by=user)
        VirtualMachineFactory(team=t)
    teams = list(Team.objects.select_related("quota").filter(pk__in=[t.pk for t in teams]))
    # one query per kind for live resources (and per kind's extra, like snapshots), one for reserved,
    # one for pending; not one per team
    extras = sum(1 for handler in kind_handlers() if handler.extra_usage is not None)
    with django_assert_max_num_queries(len(kind_handlers()) + extras + 2):
        usage = teams_usage(teams)
    assert all(u.used.vm_count == 1 and u.pending.vm_count == 1 for u in usage.values())


# -- the check ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_quota_check_include_pending_or_not(team):
    team.quota.memory_mib = 1000
    team.quota.save()
    user = UserFactory()
    ResourceRequestFactory(team=team, requested_by=user, state=RequestState.PENDING, memory_mib=600)
    ResourceRequestFactory(team=team, requested_by=user, state=RequestState.APPROVED, memory_mib=300)

    # next to approved only: 700 left
    quota_check(team=team, demand=vm_demand(memory_mib=700), include_pending=False)
    with pytest.raises(QuotaExceeded):
        quota_check(team=team, demand=vm_demand(memory_mib=701), include_pending=False)
    # next to approved + pending: 100 left
    quota_check(team=team, demand=vm_demand(memory_mib=100), include_pending=True)
    with pytest.raises(QuotaExceeded) as caught:
        quota_check(team=team, demand=vm_demand(memory_mib=101), include_pending=True)
    assert [s.resource.field for s in caught.value.shortfalls] == ["memory_mib"]
    assert caught.value.shortfalls[0].available == 100


@pytest.mark.django_db
def test_quota_check_excludes_the_request_being_decided(team):
    team.quota.memory_mib = 1000
    team.quota.save()
    user = UserFactory()
    deciding = ResourceRequestFactory(team=team, requested_by=user, state=RequestState.APPROVED, memory_mib=800)
    with pytest.raises(QuotaExceeded):
        quota_check(team=team, demand=vm_demand(memory_mib=800), include_pending=False)
    quota_check(team=team, demand=vm_demand(memory_mib=800), include_pending=False, exclude_request_id=deciding.pk)


@pytest.mark.django_db
def test_quota_check_counts_live_vms_and_vm_count(team):
    team.quota.vm_count = 2
    team.quota.save()
    VirtualMachineFactory(team=team)
    quota_check(team=team, demand=vm_demand(), include_pending=True)
    VirtualMachineFactory(team=team)
    with pytest.raises(QuotaExceeded, match=r"^Virtual machines: over quota by 1 \(asked 1, 0 left\)$"):
        quota_check(team=team, demand=vm_demand(), include_pending=True)


@pytest.mark.django_db
def test_quota_check_names_every_resource_short(team):
    team.quota.memory_mib = 100
    team.quota.disk_gib = 1
    team.quota.save()
    with pytest.raises(QuotaExceeded) as caught:
        quota_check(team=team, demand=vm_demand(memory_mib=300, disk_gib=5), include_pending=True)
    assert str(caught.value) == (
        "Memory: over quota by 200 MiB (asked 300 MiB, 100 MiB left); "
        "Disk: over quota by 4 GiB (asked 5 GiB, 1 GiB left)"
    )


@pytest.mark.django_db
def test_team_without_quota_row_can_hold_nothing():
    bare = TeamFactory(quota=None)
    user = UserFactory()
    MembershipFactory(user=user, team=bare)
    assert not hasattr(Team.objects.get(pk=bare.pk), "quota")
    assert usage_of(bare).limits == Amounts()
    with pytest.raises(QuotaExceeded) as caught:
        request_submit(
            actor=user,
            team=bare,
            kind=HypervisorKind.VM,
            name="tiny",
            vcpus=1,
            memory_mib=64,
            disk_gib=1,
            justification="x",
            spec={},
        )
    assert {s.resource.field for s in caught.value.shortfalls} == {"vcpus", "memory_mib", "disk_gib", "vm_count"}
    assert not bare.requests.exists()


@pytest.mark.django_db
def test_zero_demand_fits_even_a_zero_quota():
    bare = TeamFactory(quota=None)
    QuotaFactory(team=bare, vcpus=0, memory_mib=0, disk_gib=0, vm_count=0, container_count=0)
    quota_check(team=bare, demand=Amounts(), include_pending=True)


# -- messages ------------------------------------------------------------------------------------


def test_shortfall_message_with_and_without_unit():
    memory = Shortfall(resource=RESOURCE["memory_mib"], asked=256, available=128)
    assert memory.over_by == 128
    assert str(memory) == "Memory: over quota by 128 MiB (asked 256 MiB, 128 MiB left)"
    vcpus = Shortfall(resource=RESOURCE["vcpus"], asked=Decimal("4"), available=Decimal("1.5"))
    assert str(vcpus) == "vCPUs: over quota by 2.5 (asked 4, 1.5 left)"


def test_shortfall_message_never_shows_negative_left():
    # a quota lowered below what is held: the message says 0 left, over_by counts the whole overshoot
    shortfall = Shortfall(resource=RESOURCE["disk_gib"], asked=2, available=-3)
    assert shortfall.over_by == 5
    assert str(shortfall) == "Disk: over quota by 5 GiB (asked 2 GiB, 0 GiB left)"


def test_shortfalls_skips_resources_not_asked_for():
    available = Amounts(vcpus=Decimal("-1"), memory_mib=10, disk_gib=0, vm_count=1)
    found = shortfalls(available=available, demand=Amounts(memory_mib=20, vm_count=1))
    # vCPUs are overdrawn but not asked for, so they are not the ask's problem
    assert [s.resource.field for s in found] == ["memory_mib"]
    assert shortfalls(available=available, demand=Amounts(memory_mib=10, vm_count=1)) == []


def test_quota_exceeded_joins_messages():
    found = [
        Shortfall(resource=RESOURCE["vm_count"], asked=1, available=0),
        Shortfall(resource=RESOURCE["memory_mib"], asked=64, available=0),
    ]
    error = QuotaExceeded(found)
    assert error.shortfalls == found
    assert str(error) == (
        "Virtual machines: over quota by 1 (asked 1, 0 left); Memory: over quota by 64 MiB (asked 64 MiB, 0 MiB left)"
    )


# -- bars ----------------------------------------------------------------------------------------


def bars_by_field(usage):
    return {bar.resource.field: bar for bar in quota_bars(usage)}


def test_quota_bars_percentages():
    usage = TeamUsage(
        limits=Amounts(vcpus=Decimal("8"), memory_mib=1000, disk_gib=10, vm_count=3, container_count=0),
        used=Amounts(vcpus=Decimal("2"), memory_mib=250, vm_count=1),
        reserved=Amounts(vcpus=Decimal("2"), memory_mib=0, disk_gib=12, vm_count=1),
        pending=Amounts(vcpus=Decimal("1"), memory_mib=500, disk_gib=1, vm_count=1),
    )
    bars = bars_by_field(usage)
    assert [bar.resource.field for bar in quota_bars(usage)] == [r.field for r in RESOURCES]

    vcpus = bars["vcpus"]
    assert (vcpus.limit, vcpus.used, vcpus.pending, vcpus.free) == (Decimal("8"), Decimal("4"), Decimal("1"), 3)
    assert (vcpus.used_percent, vcpus.pending_percent) == (50, 12)  # 12.5 rounds to even

    memory = bars["memory_mib"]
    assert (memory.used_percent, memory.pending_percent, memory.free) == (25, 50, 250)

    vms = bars["vm_count"]
    assert (vms.used_percent, vms.pending_percent, vms.free) == (67, 33, 0)

    # over the limit (a quota lowered after approval): the bar is full, never past 100, free is negative
    disk = bars["disk_gib"]
    assert (disk.used_percent, disk.pending_percent, disk.free) == (100, 0, -3)


def test_quota_bars_with_zero_limit():
    usage = TeamUsage(
        limits=Amounts(),
        used=Amounts(memory_mib=64),
        reserved=Amounts(),
        pending=Amounts(vm_count=1),
    )
    bars = bars_by_field(usage)
    # nothing allowed and nothing held: an empty bar, not a division by zero
    assert (bars["vcpus"].used_percent, bars["vcpus"].pending_percent) == (0, 0)
    assert (bars["container_count"].used_percent, bars["container_count"].pending_percent) == (0, 0)
    # nothing allowed but something held: a full bar
    assert bars["memory_mib"].used_percent == 100
    assert bars["memory_mib"].pending_percent == 0
    assert bars["vm_count"].used_percent == 0
    assert bars["vm_count"].pending_percent == 100


@pytest.mark.django_db
def test_quota_bars_from_rows(team):
    team.quota.memory_mib = 1000
    team.quota.save()
    user = UserFactory()
    VirtualMachineFactory(team=team, memory_mib=100)
    ResourceRequestFactory(team=team, requested_by=user, state=RequestState.APPROVED, memory_mib=200)
    ResourceRequestFactory(team=team, requested_by=user, state=RequestState.PENDING, memory_mib=300)
    memory = bars_by_field(usage_of(team))["memory_mib"]
    assert (memory.used, memory.pending, memory.free) == (300, 300, 400)
    assert (memory.used_percent, memory.pending_percent) == (30, 30)
