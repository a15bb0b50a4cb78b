"""Building an approved VM on a host, step by step, recorded in its job.

Every step is idempotent: the VM's UUID and volume name are fixed before the
first step, so a task delivered twice finds its own domain and disk and carries
on. A VM asked for without a network joins its team's own network on the host
(made here, in the worker, on first use) unless an admin shared one for that.
The shared skeleton (``portal.provisioning``) checks the quota, moves the
request, retries an unreachable host and cleans up after any failure.
"""

from __future__ import annotations

import logging

from django.db import transaction

from hypervisors.choices import NetworkKind
from hypervisors.drivers import (
    CLEAN_TRAFFIC_FILTER,
    DomainSpec,
    DriverError,
    HostUnreachable,
    HypervisorDriver,
    InterfaceSpec,
    driver_for,
)
from hypervisors.hosts.placement import host_for
from hypervisors.models import VirtualMachine, VirtualNetwork
from hypervisors.networks.provisioning import network_make
from hypervisors.networks.selectors import host_shared_network
from hypervisors.networks.services import team_network_ensure
from hypervisors.vms.cloud_init import seed_files, seed_iso
from hypervisors.vms.services import vm_interfaces_create
from portal.jobs import job_step
from portal.models import Job
from portal.provisioning import Builder, provision_run

logger = logging.getLogger(__name__)

#: Where hosts keep each guest's serial console output (libvirt's own log directory).
CONSOLE_LOG_DIR = "/var/log/libvirt/qemu"


def domain_spec(vm: VirtualMachine, disk_path: str, seed_path: str = "") -> DomainSpec:
    """The domain a VM row describes, on its host (with its first-boot seed as a CD-ROM when it has one)."""
    assert vm.host is not None and vm.image is not None
    return DomainSpec(
        uuid=str(vm.uuid),
        name=vm.domain_name,
        domain_type=vm.host.domain_type,
        vcpus=vm.vcpus,
        memory_mib=vm.memory_mib,
        disk_path=disk_path,
        kernel_path=vm.image.kernel_path,
        initrd_path=vm.image.initrd_path,
        kernel_cmdline=vm.image.kernel_cmdline,
        interfaces=tuple(
            InterfaceSpec(
                mac=card.mac, network=card.network.libvirt_name, user_mode=card.network.kind == NetworkKind.USER
            )
            for card in vm.interfaces.select_related("network")
        ),
        console_log=f"{CONSOLE_LOG_DIR}/{vm.domain_name}.console.log",
        graphics=vm.image.graphical_console,
        seed_path=seed_path,
        metadata={"team": vm.team.slug, "name": vm.name, "owner": vm.owner.get_username() if vm.owner else ""},
    )


def vm_provision(*, job_id: int, final_attempt: bool = True) -> None:
    """Build the VM of a provisioning job: host, disk, domain, start (see ``portal.provisioning``)."""
    provision_run(VM_BUILDER, job_id=job_id, final_attempt=final_attempt)


def _load(job: Job) -> VirtualMachine | None:
    return (
        VirtualMachine.objects.select_related("team", "image", "host", "owner", "request")
        .filter(request_id=job.request_id)
        .first()
    )


def _build(job: Job, vm: VirtualMachine) -> str:
    if vm.image is None:
        raise DriverError("The image chosen for this VM no longer exists.")
    # Placement and the VM's network cards are rows only (no host is called until the driver below),
    # so they and their steps share one commit; the steps are written before the first host call.
    with transaction.atomic():
        if vm.host is None:
            job_step(job, "Choosing a host", 10, save=False)
            vm.host = host_for(vm)
            vm.save(update_fields=["host", "updated_at"])
        job_step(job, f"Placed on host {vm.host.name}", 15)
        networks = _networks_of(vm)
    with driver_for(vm.host.uri) as driver:
        _networks_join(job, driver, networks)
        job_step(job, f"Preparing storage pool {vm.host.storage_pool}", 25)
        driver.pool_ensure(name=vm.host.storage_pool, path=vm.host.storage_path)
        job_step(job, f"Creating a {vm.disk_gib} GiB qcow2 disk", 40)
        disk_path = driver.volume_ensure(pool=vm.host.storage_pool, name=vm.volume_name, capacity_gib=vm.disk_gib)
        seed_path = _seed_upload(job, driver, vm)
        job_step(job, f"Defining domain {vm.domain_name} ({vm.host.domain_type})", 60)
        spec = domain_spec(vm, disk_path, seed_path)
        driver.domain_define(spec)
        job_step(job, "Starting the domain", 80)
        driver.domain_start(str(vm.uuid))
        status = driver.domain_status(str(vm.uuid))
    vm.state = status.state
    with transaction.atomic():  # one commit for the VM's state and its cards
        vm.save(update_fields=["state", "updated_at"])
        if spec.interfaces:
            vm.interfaces.update(attached=True)
    return f"The VM is {vm.get_state_display().lower()}"


def _seed_upload(job: Job, driver: HypervisorDriver, vm: VirtualMachine) -> str:
    """Write the VM's NoCloud seed into the host's pool when its image understands cloud-init; its path, or "".

    Made from the request as it was asked (the key texts were copied then), so a
    retried step writes the same seed again.
    """
    assert vm.host is not None and vm.image is not None
    if not vm.image.cloud_init:
        return ""
    job_step(job, "Writing the first-boot seed (cloud-init NoCloud)", 50)
    spec = vm.request.spec if vm.request is not None else {}
    files = seed_files(
        instance_id=str(vm.uuid),
        hostname=vm.name,
        keys=[str(key) for key in spec.get("ssh_keys", [])],
        text=str(spec.get("user_data", "")),
    )
    return driver.volume_upload(pool=vm.host.storage_pool, name=vm.seed_volume_name, data=seed_iso(files))


def _networks_of(vm: VirtualMachine) -> list[VirtualNetwork]:
    """The networks the VM's cards are on, giving a VM asked for without any a card on its default network.

    That is the team's own network on the host, or a network an admin shared
    as the host's default. Only rows here: the host is reached after.
    """
    assert vm.host is not None
    if not vm.interfaces.exists():
        network = host_shared_network(vm.host) or team_network_ensure(team=vm.team, host=vm.host)
        vm_interfaces_create(vm, [network])
    return [card.network for card in vm.interfaces.select_related("network", "network__team")]


def _networks_join(job: Job, driver: HypervisorDriver, networks: list[VirtualNetwork]) -> None:
    """Make the team's own networks the VM needs on the host, and check the host has the traffic filter."""
    for network in networks:
        if network.is_team_default:  # asked every time: one removed outside the portal is made again
            job_step(job, f"Joining team network {network.libvirt_name} ({network.subnet})", 20)
            network_make(driver, network)
    filtered = [network for network in networks if network.kind != NetworkKind.USER]
    if filtered and driver.network_filter_present(CLEAN_TRAFFIC_FILTER) is False:
        raise DriverError(
            f"The host has no libvirt network filter {CLEAN_TRAFFIC_FILTER!r}, which every VM network card "
            "carries; it ships with libvirt's nwfilter driver: install it there (libvirt-daemon-driver-nwfilter)."
        )


def _cleanup(job: Job, vm: VirtualMachine) -> None:
    """Remove whatever part of the VM a failed build made, on the host and in the database."""
    if vm.host is not None:
        job_step(job, "Removing what was built", job.progress)
        try:
            with driver_for(vm.host.uri) as driver:
                driver.domain_delete(str(vm.uuid))
                driver.volume_delete(pool=vm.host.storage_pool, name=vm.volume_name)
                driver.volume_delete(pool=vm.host.storage_pool, name=vm.seed_volume_name)
        except DriverError as error:
            logger.error("Cleanup of VM %s on %s failed: %s", vm.uuid, vm.host.name, error)
            job_step(job, f"Could not remove domain {vm.domain_name} from {vm.host.name}: {error}", job.progress)
    vm.delete()


VM_BUILDER = Builder(load=_load, build=_build, cleanup=_cleanup, unreachable=(HostUnreachable,))
