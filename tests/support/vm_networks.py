"""VM network rows for tests: a network on a host, a host never contacted, a network brought up as the worker does."""

from __future__ import annotations

from hypervisors.choices import NetworkKind, NetworkState
from hypervisors.drivers import driver_for
from hypervisors.models import VirtualNetwork
from hypervisors.networks.provisioning import network_spec
from portal.models import Job
from tests.factories import HostFactory


def other_host(name, **values):
    """A host row that is never contacted (its URI leads nowhere)."""
    return HostFactory(name=name, uri=f"qemu+tcp://127.0.0.1:1/{name}", **values)


def make_network(host, team=None, name="net", kind=NetworkKind.NAT, subnet="10.213.0.0/24", **values):
    values.setdefault("state", NetworkState.ACTIVE)
    return VirtualNetwork.objects.create(host=host, team=team, name=name, kind=kind, subnet=subnet, **values)


def bring_up(network: VirtualNetwork) -> None:
    """Define and start a network row's libvirt network on its host, as the worker does."""
    with driver_for(network.host.uri) as driver:
        driver.network_define(network_spec(network))
        driver.network_start(str(network.uuid), autostart=True)


def jobs_on(resource) -> list[Job]:
    """The jobs whose target is this row."""
    return list(Job.objects.filter(target_id=str(resource.pk), target_type__model=resource._meta.model_name))
