"""Host services: probing a host records what it is, or that it cannot be reached."""

import libvirt
import pytest

from hypervisors.choices import DomainType
from hypervisors.hosts.services import host_probe
from hypervisors.models import Host
from tests.factories import HostFactory

pytestmark = pytest.mark.django_db


def test_probe_records_the_facts_of_the_test_hypervisor(libvirt_test_host):
    Host.objects.filter(pk=libvirt_test_host.pk).update(
        is_reachable=False, domain_type="", cpus=None, memory_mib=None, last_error="was down yesterday"
    )
    host = Host.objects.get(pk=libvirt_test_host.pk)
    assert (host.cpus, host.domain_type) == (None, "")
    probed = host_probe(host_id=host.pk)
    host.refresh_from_db()
    assert probed == host
    assert host.is_reachable
    assert host.last_error == ""
    assert host.domain_type == DomainType.TEST
    assert host.cpus == 16
    assert host.memory_mib == 3072
    version = libvirt.getVersion()
    assert host.libvirt_version == f"{version // 1_000_000}.{version // 1000 % 1000}.{version % 1000}"
    assert host.hypervisor_version == "0.0.2"
    assert host.last_probed_at is not None
    assert not host.is_emulated


def test_probe_of_an_unreachable_host_marks_it_and_does_not_raise():
    host = HostFactory(uri="qemu+tcp://127.0.0.1:1/system", is_reachable=True, cpus=8, memory_mib=2048)
    probed = host_probe(host_id=host.pk)
    host.refresh_from_db()
    assert probed.pk == host.pk
    assert not host.is_reachable
    assert "127.0.0.1" in host.last_error
    assert host.last_probed_at is not None
    # what an earlier probe learnt is kept; placement skips the host because it is unreachable
    assert (host.cpus, host.memory_mib, host.domain_type) == (8, 2048, DomainType.TEST)


def test_probe_again_after_recovery_clears_the_error(libvirt_test_host):
    host = libvirt_test_host
    Host.objects.filter(pk=host.pk).update(uri="qemu+tcp://127.0.0.1:1/system")
    host_probe(host_id=host.pk)
    first = Host.objects.get(pk=host.pk)
    assert not first.is_reachable

    Host.objects.filter(pk=host.pk).update(uri="test:///default")
    host_probe(host_id=host.pk)
    host.refresh_from_db()
    assert host.is_reachable
    assert host.last_error == ""
    assert host.last_probed_at >= first.last_probed_at
