"""Which asks a policy covers, one dimension at a time, and in which order policies are tried."""

from decimal import Decimal

import pytest

from containers.choices import ContainerKind
from hypervisors.choices import HypervisorKind
from portal.amounts import Amounts
from portal.models import AutoApprovalPolicy
from portal.policies.matching import Ask, ask_of, policies_in_order, policy_refusal
from tests.factories import AutoApprovalPolicyFactory, ResourceRequestFactory, TeamFactory

VM = HypervisorKind.VM.value
CONTAINER = ContainerKind.CONTAINER.value


def vm_ask(vcpus=1, memory_mib=128, disk_gib=1, image_id=7, network_ids=(), lease_days=None):
    return Ask(
        kind=VM,
        demand=Amounts(vcpus=Decimal(vcpus), memory_mib=memory_mib, disk_gib=disk_gib, vm_count=1),
        image_id=image_id,
        network_ids=tuple(network_ids),
        lease_days=lease_days,
        leased_kind=True,
    )


def policy(**fields):
    return AutoApprovalPolicy(name="small", kinds=[VM], **fields)


def test_an_ask_within_every_limit_matches():
    rule = policy(
        max_vcpus=Decimal(2), max_memory_mib=256, max_disk_gib=2, images=[f"{VM}:7"], networks=[f"{VM}:3"],
        max_lease_days=7,
    )  # fmt: skip
    assert policy_refusal(rule, vm_ask(vcpus=2, memory_mib=256, disk_gib=2, network_ids=[3], lease_days=7)) == ""


@pytest.mark.parametrize(
    ("fields", "ask", "why"),
    [
        pytest.param({"kinds": [CONTAINER]}, vm_ask(), "does not cover vm", id="kind"),
        pytest.param({"max_vcpus": Decimal(1)}, vm_ask(vcpus=2), "vcpus", id="vcpus"),
        pytest.param({"max_memory_mib": 128}, vm_ask(memory_mib=129), "memory_mib", id="memory"),
        pytest.param({"max_disk_gib": 1}, vm_ask(disk_gib=2), "disk_gib", id="disk"),
        pytest.param({"images": [f"{VM}:8"]}, vm_ask(image_id=7), "image", id="image"),
        pytest.param({"images": [f"{CONTAINER}:7"]}, vm_ask(image_id=7), "image", id="image-of-another-kind"),
        pytest.param({"networks": [f"{VM}:3"]}, vm_ask(network_ids=[3, 4]), "network", id="network"),
        pytest.param({"max_lease_days": 7}, vm_ask(lease_days=8), "lease", id="lease"),
        pytest.param({"max_lease_days": 7}, vm_ask(lease_days=None), "no lease end", id="no-lease-end"),
        pytest.param({"enabled": False}, vm_ask(), "disabled", id="disabled"),
    ],
)
def test_an_ask_outside_one_limit_does_not_match(fields, ask, why):
    rule = AutoApprovalPolicy(name="small", **{"kinds": [VM], **fields})
    assert why in policy_refusal(rule, ask)


def test_what_an_ask_does_not_name_passes_its_check():
    """No network named (it joins its team's own), no lease limit: those checks have nothing to refuse."""
    rule = policy(networks=[f"{VM}:3"])
    assert policy_refusal(rule, vm_ask(network_ids=[], lease_days=None)) == ""


def test_container_sizes_are_capped_through_the_same_amounts():
    rule = AutoApprovalPolicy(name="tiny", kinds=[CONTAINER], max_vcpus=Decimal("0.5"), max_memory_mib=64)
    fits = Ask(CONTAINER, Amounts(vcpus=Decimal("0.5"), memory_mib=64, container_count=1), 3, (), None)
    too_big = Ask(CONTAINER, Amounts(vcpus=Decimal("0.75"), memory_mib=64, container_count=1), 3, (), None)
    assert policy_refusal(rule, fits) == ""
    assert "vcpus" in policy_refusal(rule, too_big)


@pytest.mark.django_db
def test_the_kind_handler_reads_image_and_networks_of_an_ask(team, member):
    vm = ResourceRequestFactory(team=team, requested_by=member, spec={"image_id": 5, "network_ids": [2, 9]})
    container = ResourceRequestFactory(
        team=team, requested_by=member, kind=CONTAINER, spec={"image_id": 4, "docker_host_id": 1}
    )
    assert ask_of(vm).image_id == 5
    assert ask_of(vm).leased_kind and not ask_of(container).lease_days
    assert ask_of(vm).network_ids == (2, 9)
    assert ask_of(container).image_id == 4
    assert ask_of(container).network_ids == (), "a container names no network: it joins its team's bridge"


@pytest.mark.django_db
def test_a_teams_own_policies_come_before_the_global_ones(team):
    other_team = TeamFactory()
    global_rule = AutoApprovalPolicyFactory(name="a-global")
    own = AutoApprovalPolicyFactory(name="z-own", team=team)
    AutoApprovalPolicyFactory(name="b-other", team=other_team)
    AutoApprovalPolicyFactory(name="c-off", team=team, enabled=False)
    assert policies_in_order(team) == [own, global_rule]


@pytest.mark.django_db
def test_a_quota_change_is_never_approved_by_a_policy_even_when_listed(team, team_admin):
    from portal.policies.matching import policy_matching
    from portal.quota_requests.kind import QUOTA_CHANGE

    AutoApprovalPolicy.objects.create(name="everything", team=team, kinds=[QUOTA_CHANGE, VM])
    ask = ResourceRequestFactory(team=team, requested_by=team_admin, kind=QUOTA_CHANGE, spec={"limits": {"vcpus": 99}})
    assert policy_matching(ask) is None
