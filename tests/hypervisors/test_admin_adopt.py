"""Adopting a domain found on a host (by the reconcile) into a team, through the admin action."""

import uuid as uuidlib

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied

from hypervisors.drivers import DomainSpec, driver_for
from hypervisors.hosts.inventory import host_reconcile
from hypervisors.models import UnmanagedDomain, VirtualMachine
from hypervisors.vms.services import adoption_name, vm_adopt
from portal.models import AuditEvent, Team
from tests.factories import UserFactory, VirtualMachineFactory
from tests.support.pages import csrf_post, text
from tests.support.rows import usage_of

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/hypervisors/unmanageddomain/"


def adopt(client, domains, **form):
    """The second step of the action: the intermediate page posted back with its form."""
    data = {"action": "adopt_selected", "_selected_action": [str(d.pk) for d in domains], **form}
    return csrf_post(client, CHANGELIST, data, follow=True)


@pytest.fixture
def found(libvirt_test_host, conn):
    """Define domains directly on the host, let the reconcile find them; return their UnmanagedDomain rows."""

    def make(*names: str, vcpus: int = 2, memory_mib: int = 256) -> list[UnmanagedDomain]:
        uuids = []
        with driver_for("test:///default") as driver:
            for name in names:
                spec = DomainSpec(
                    uuid=str(uuidlib.uuid4()), name=name, domain_type="test", vcpus=vcpus, memory_mib=memory_mib,
                    disk_path=f"/default-pool/{len(uuids)}.qcow2", kernel_path="/images/vmlinuz",
                )  # fmt: skip
                driver.domain_define(spec)
                driver.domain_start(spec.uuid)
                uuids.append(spec.uuid)
        host_reconcile(host_id=libvirt_test_host.pk)
        rows = [UnmanagedDomain.objects.get(uuid=u) for u in uuids]
        assert all((row.vcpus, row.memory_mib) == (vcpus, memory_mib) for row in rows), "sizes as the host reports"
        return rows

    return make


@pytest.fixture
def admin_client(client_for, staff):
    return client_for(staff)


# --- the action ---


def test_action_asks_for_the_team_first(admin_client, found):
    (domain,) = found("Web_Server 01")
    response = csrf_post(
        admin_client, CHANGELIST, {"action": "adopt_selected", "index": "0", "_selected_action": [str(domain.pk)]}
    )
    assert response.status_code == 200
    assert "Adopt these domains?" in text(response)
    assert "Web_Server 01 on host" in text(response)
    assert 'name="team"' in response.content.decode()
    assert not VirtualMachine.objects.exists()


def test_adopt_makes_a_vm_counted_in_the_quota(admin_client, found, team, member, staff, libvirt_test_host, conn):
    (domain,) = found("Web_Server 01")
    before = usage_of(team).used

    response = adopt(admin_client, [domain], team=str(team.pk), owner=str(member.pk))

    assert response.redirect_chain[-1][0] == CHANGELIST
    assert "Web_Server 01 on host" in text(response)
    assert "is now VM blue/web-server-01." in text(response)
    vm = VirtualMachine.objects.get()
    assert (vm.team, vm.owner, vm.host, vm.name) == (team, member, libvirt_test_host, "web-server-01")
    assert str(vm.uuid) == str(domain.uuid)
    assert vm.domain_name == "Web_Server 01", "the domain keeps its name on the host"
    assert (vm.vcpus, vm.memory_mib) == (2, 256)
    assert vm.disk_gib == (domain.disk_gib or 1), "test:///default reports no disk capacity: counted as 1 GiB"
    assert vm.state == "running"
    assert not UnmanagedDomain.objects.filter(pk=domain.pk).exists()
    after = usage_of(team).used
    assert (after.vm_count - before.vm_count, after.vcpus - before.vcpus, after.memory_mib - before.memory_mib) == (
        1,
        2,
        256,
    )
    event = AuditEvent.objects.get(action="vm.adopt")
    assert (event.actor, event.team, event.target_id) == (staff, team, str(vm.pk))

    # from now on the reconcile treats it as the team's VM
    conn.lookupByUUIDString(str(vm.uuid)).destroy()
    host_reconcile(host_id=libvirt_test_host.pk)
    vm.refresh_from_db()
    assert vm.state == "shutoff"
    assert not UnmanagedDomain.objects.filter(uuid=vm.uuid).exists()


def test_adopt_without_owner(admin_client, found, team):
    (domain,) = found("db")
    adopt(admin_client, [domain], team=str(team.pk))
    vm = VirtualMachine.objects.get()
    assert (vm.name, vm.owner) == ("db", None)


def test_adopted_vm_is_visible_to_the_team(admin_client, found, team, client_for, member):
    (domain,) = found("db")
    adopt(admin_client, [domain], team=str(team.pk))
    vm = VirtualMachine.objects.get()
    page = client_for(member).get(f"/vms/{vm.uuid}/")
    assert page.status_code == 200
    assert "db" in text(page)


def test_over_quota_is_an_error_and_nothing_is_adopted(admin_client, found, team):
    (domain,) = found("huge", vcpus=2, memory_mib=8192)
    response = adopt(admin_client, [domain], team=str(team.pk))
    assert "huge on host" in text(response)
    assert "Memory: over quota by 4096 MiB" in text(response)
    assert not VirtualMachine.objects.exists()
    assert UnmanagedDomain.objects.filter(pk=domain.pk).exists()
    assert usage_of(team).used.vm_count == 0


def test_over_vm_count_is_an_error(admin_client, found, team):
    team.quota.vm_count = 0
    team.quota.save()
    (domain,) = found("db")
    response = adopt(admin_client, [domain], team=str(team.pk))
    assert "Virtual machines: over quota by 1" in text(response)
    assert not VirtualMachine.objects.exists()


def test_name_taken_in_the_team_is_an_error(admin_client, found, team):
    VirtualMachineFactory(team=team, name="web-server-01")
    (domain,) = found("Web_Server 01")
    response = adopt(admin_client, [domain], team=str(team.pk))
    assert "Team blue already has a VM named 'web-server-01'." in text(response)
    assert VirtualMachine.objects.count() == 1
    assert UnmanagedDomain.objects.filter(pk=domain.pk).exists()


def test_same_name_in_another_team_is_fine(admin_client, found, team, outsider):
    red = Team.objects.get(slug="red")
    VirtualMachineFactory(team=red, name="db")
    (domain,) = found("db")
    adopt(admin_client, [domain], team=str(team.pk))
    assert VirtualMachine.objects.filter(team=team, name="db").exists()


def test_bulk_adoption_reports_each_domain(admin_client, found, team):
    VirtualMachineFactory(team=team, name="taken")
    free, clash = found("free", "Taken")
    response = adopt(admin_client, [free, clash], team=str(team.pk))
    assert "is now VM blue/free." in text(response)
    assert "Team blue already has a VM named 'taken'." in text(response)
    assert set(VirtualMachine.objects.values_list("name", flat=True)) == {"free", "taken"}
    assert UnmanagedDomain.objects.filter(pk=clash.pk).exists()


def test_non_deciding_staff_is_refused(client_for, found, team):
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.add(
        Permission.objects.get(content_type__app_label="hypervisors", codename="view_unmanageddomain")
    )
    (domain,) = found("db")
    response = adopt(client_for(clerk), [domain], team=str(team.pk))
    assert "Only portal administrators may approve or reject requests." in text(response)
    assert not VirtualMachine.objects.exists()
    assert UnmanagedDomain.objects.filter(pk=domain.pk).exists()


def test_non_staff_cannot_reach_the_admin(client_for, member, found, team):
    (domain,) = found("db")
    response = adopt(client_for(member), [domain], team=str(team.pk))
    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert not VirtualMachine.objects.exists()


def test_service_refuses_non_deciders(found, team, member):
    (domain,) = found("db")
    with pytest.raises(PermissionDenied):
        vm_adopt(actor=member, unmanaged_id=domain.pk, team=team)
    assert not VirtualMachine.objects.exists()


def test_adopted_vm_is_charged_the_domains_real_sizes(libvirt_test_host, conn, staff, team):
    with driver_for("test:///default") as driver:
        spec = DomainSpec(
            uuid=str(uuidlib.uuid4()), name="big", domain_type="test", vcpus=2, memory_mib=256,
            disk_path="/default-pool/big.qcow2", kernel_path="/images/vmlinuz",
        )  # fmt: skip
        driver.domain_define(spec)
    host_reconcile(host_id=libvirt_test_host.pk)
    vm = vm_adopt(actor=staff, unmanaged_id=UnmanagedDomain.objects.get(uuid=spec.uuid).pk, team=team)
    assert (vm.vcpus, vm.memory_mib) == (2, 256)


# --- names ---


@pytest.mark.parametrize(
    ("domain_name", "vm_name"),
    [
        ("Web_Server 01", "web-server-01"),
        ("!!!", "adopted"),
        ("", "adopted"),
        ("db", "db"),
        ("--x--", "x"),
        ("äöü-db", "db"),
        ("team.app", "team-app"),
        ("a" * 100, "a" * 63),
        ("a" * 62 + "-b", "a" * 62),
        ("UPPER__lower", "upper-lower"),
    ],
)
def test_adoption_name(domain_name, vm_name):
    name = adoption_name(domain_name)
    assert name == vm_name
    assert len(name) <= 63
