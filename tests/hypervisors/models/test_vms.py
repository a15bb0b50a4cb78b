"""The VM row keeps its host's name (the list sorts by it with an index), through placement and renames."""

import pytest

from hypervisors.models import VirtualMachine
from tests.factories import HostFactory, VirtualMachineFactory

pytestmark = pytest.mark.django_db


def test_a_vm_keeps_the_name_of_the_host_it_is_placed_on(team):
    vm = VirtualMachineFactory(team=team, host=None)
    assert VirtualMachine.objects.get(pk=vm.pk).host_name is None
    vm.host = HostFactory(name="kvm-a")
    vm.save(update_fields=["host", "updated_at"])
    assert VirtualMachine.objects.get(pk=vm.pk).host_name == "kvm-a"


def test_a_host_given_by_id_is_looked_up_when_saved(team):
    host = HostFactory(name="kvm-a", uri="qemu+ssh://root@kvm-a/system")
    other = HostFactory(name="kvm-b", uri="qemu+ssh://root@kvm-b/system")
    vm = VirtualMachine.objects.get(pk=VirtualMachineFactory(team=team, host=host).pk)
    vm.host_id = other.pk
    vm.save(update_fields=["host"])
    assert VirtualMachine.objects.get(pk=vm.pk).host_name == "kvm-b"


def test_saving_other_fields_does_not_ask_for_the_host(team, django_assert_num_queries):
    vm = VirtualMachine.objects.get(pk=VirtualMachineFactory(team=team, host=HostFactory()).pk)
    vm.state = "shutoff"
    with django_assert_num_queries(1):
        vm.save(update_fields=["state"])
    with django_assert_num_queries(1):
        vm.save()


def test_a_renamed_host_renames_its_vms(team):
    host = HostFactory(name="kvm-a")
    vm = VirtualMachineFactory(team=team, host=host)
    host.name = "kvm-z"
    host.save()
    assert VirtualMachine.objects.get(pk=vm.pk).host_name == "kvm-z"
