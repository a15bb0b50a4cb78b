"""Keeping the rows true: host events, the periodic reconcile, and load samples.

Pages render from these rows, so they must follow what really runs, including
changes made outside the portal (``virsh destroy``...). Events make that quick;
the reconcile makes it certain: one bulk round trip per host corrects any drift.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from hypervisors.choices import NetworkState, VMState
from hypervisors.drivers import DomainStats, DriverError, HypervisorDriver, NetworkStatus, driver_for
from hypervisors.hosts.storage import storage_read, storage_write
from hypervisors.models import (
    Host,
    HostStatSample,
    UnmanagedDomain,
    VirtualMachine,
    VirtualNetwork,
    VMInterface,
    VMStatSample,
)
from hypervisors.vms.operations import vm_state_record
from portal.audit import audit_record
from portal.choices import AuditResult
from portal.history import RAW

logger = logging.getLogger(__name__)

#: States the reconcile leaves alone: a job owns the VM until it has been built.
JOB_OWNED_STATES = (VMState.BUILDING,)
GIB = 1024**3


def vm_state_observed(*, host_id: int, uuid: str, state: str) -> bool:
    """A host reported a domain's new state (an event); store it. Returns whether a row changed."""
    vm = VirtualMachine.objects.filter(host_id=host_id, uuid=uuid).exclude(state__in=JOB_OWNED_STATES).first()
    if vm is None or vm.state == state:
        return False
    vm_state_record(vm, state)
    return True


@dataclass
class ReconcileReport:
    """What one reconcile of one host found and changed."""

    reachable: bool = True
    domains: int = 0
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unmanaged: int = 0
    samples: int = 0


def host_reconcile(*, host_id: int) -> ReconcileReport:
    """Read every domain and storage pool of a host in one pass and make the rows agree with it."""
    host = Host.objects.get(pk=host_id)
    report = ReconcileReport()
    # One read of the host's VMs and one of its unmanaged domains serve the driver and the comparison.
    # VM rows hold their own sizes: the host need not be asked for them domain by domain, except for
    # a VM waiting for a smaller size to take effect, whose current size the reconcile must see. An
    # unmanaged domain's row holds the sizes last asked, trusted for LAST_SEEN_RESOLUTION.
    rows = _vm_rows(host)
    unmanaged = _unmanaged_rows(host)
    trusted_since = timezone.now() - LAST_SEEN_RESOLUTION
    sizes_known = {uuid for uuid, row in rows.items() if not row[2]} | {
        uuid
        for uuid, (values, last_seen) in unmanaged.items()
        if last_seen >= trusted_since and None not in values[2:4]
    }
    try:
        with driver_for(host.uri) as driver:
            domains = driver.domains_stats(sizes_known=sizes_known)
            usage = driver.host_usage()
            networks = {status.uuid.lower(): status for status in driver.networks_list()}
            leases = _leases(host, driver)
            storage = storage_read(host, driver, domains, {uuid: row[0] for uuid, row in rows.items()})
    except DriverError as error:
        host.mark_unreachable(error)
        report.reachable = False
        return report
    now = timezone.now()
    host.mark_reconciled(now)
    report.domains = len(domains)
    found = {stats.uuid.lower(): stats for stats in domains}
    with transaction.atomic():
        _reconcile_vms(host, rows, found, now, report)
        _reconcile_unmanaged(host, unmanaged, found, now, report)
        _reconcile_networks(host, networks, leases)
        if storage is not None:
            storage_write(host, storage, now)
        HostStatSample.objects.create(
            host=host,
            taken_at=now,
            cpu_busy_ns=usage.cpu_busy_ns,
            cpu_total_ns=usage.cpu_total_ns,
            memory_total_kib=usage.memory_total_kib,
            memory_free_kib=usage.memory_free_kib,
            running_domains=sum(1 for stats in domains if stats.state == VMState.RUNNING),
        )
    return report


#: A VM row as the reconcile reads it: primary key, state, whether a smaller size is pending.
VMRow = tuple[int, str, bool]


def _vm_rows(host: Host) -> dict[str, VMRow]:
    """The host's VMs by UUID (lower case, as domains are keyed): plain values, no model instances."""
    return {
        str(uuid): (pk, state, pending_vcpus is not None or pending_memory_mib is not None)
        for pk, uuid, state, pending_vcpus, pending_memory_mib in VirtualMachine.objects.filter(host=host).values_list(
            "pk", "uuid", "state", "pending_vcpus", "pending_memory_mib"
        )
    }


def _reconcile_vms(
    host: Host, rows: dict[str, VMRow], found: dict[str, DomainStats], now: datetime, report: ReconcileReport
) -> None:
    """Update the states of the host's VMs, mark the vanished ones missing, and sample the running ones.

    The rows were read before the host was asked, so each UPDATE moves only rows still in the state
    that was read: a job that changed a VM meanwhile knows better than this read. One UPDATE per
    (old, new) pair, so a steady host writes nothing. Consumes from ``found`` the domains that
    belong to VMs; what is left is unmanaged.
    """
    moves: dict[tuple[str, str], list[int]] = defaultdict(list)
    pending: dict[int, DomainStats] = {}
    samples: list[tuple[int, DomainStats]] = []
    for uuid, (pk, state, has_pending) in rows.items():
        stats = found.pop(uuid, None)
        if state in JOB_OWNED_STATES:
            continue
        new_state = VMState.MISSING if stats is None else stats.state
        if state != new_state:
            moves[(state, new_state)].append(pk)
        if stats is None:
            continue
        if has_pending:
            pending[pk] = stats
        if stats.cpu_time_ns is not None:
            samples.append((pk, stats))
    for (old_state, new_state), pks in moves.items():
        # Shut off before, running now: the changes that waited for the next boot have applied.
        booted = new_state == VMState.RUNNING and old_state in (VMState.SHUTOFF, VMState.CRASHED)
        VirtualMachine.objects.filter(pk__in=pks, state=old_state).update(
            state=new_state, state_changed_at=now, **({"next_boot_note": ""} if booted else {})
        )
    if pending:
        _pending_sizes_apply(host, pending)
    if moves:
        _changes_report(host, [pk for pks in moves.values() for pk in pks], now, report)
    _samples_write(samples, now)
    report.samples = len(samples)


def _changes_report(host: Host, moved: list[int], now: datetime, report: ReconcileReport) -> None:
    """Name the VMs this run moved (stamped with its ``now``) and audit each one that went missing."""
    vanished = []
    for pk, slug, name, state in VirtualMachine.objects.filter(pk__in=moved, state_changed_at=now).values_list(
        "pk", "team__slug", "name", "state"
    ):
        report.changed.append(f"{slug}/{name}")
        if state == VMState.MISSING:
            vanished.append(pk)
    for vm in VirtualMachine.objects.filter(pk__in=vanished).select_related("team"):
        report.missing.append(str(vm))
        audit_record(
            actor=None, action="vm.missing", target=vm, team=vm.team, result=AuditResult.FAILURE,
            detail=f"Domain {vm.domain_name} is no longer on host {host.name}.",
        )  # fmt: skip


#: The counters of a load sample, in the order ``_samples_write`` passes them.
SAMPLE_COUNTERS = (
    *("cpu_time_ns", "memory_used_kib", "disk_read_bytes"),
    *("disk_write_bytes", "net_rx_bytes", "net_tx_bytes"),
)


def _samples_write(samples: list[tuple[int, DomainStats]], now: datetime) -> None:
    """Insert one load sample per running VM (thousands a minute on a busy host) as plain rows.

    ``bulk_create`` builds and prepares a model instance per sample, and a multi-row INSERT makes
    the database driver parse a statement with a placeholder per value: either was most of a
    steady reconcile's time. On PostgreSQL the columns go as one array each (``unnest``): one short
    statement whatever the number of samples. Elsewhere (SQLite in tests) ``bulk_create`` does.
    """
    if not samples:
        return
    if connection.vendor != "postgresql":
        VMStatSample.objects.bulk_create(
            VMStatSample(vm_id=pk, taken_at=now, **{name: getattr(stats, name) for name in SAMPLE_COUNTERS})
            for pk, stats in samples
        )
        return
    meta = VMStatSample._meta
    quote = connection.ops.quote_name
    column = {field.name: quote(field.column) for field in meta.concrete_fields}
    arrays = [[pk for pk, _stats in samples]] + [
        [getattr(stats, name) for _pk, stats in samples] for name in SAMPLE_COUNTERS
    ]
    names = ", ".join(column[name] for name in ("vm", *SAMPLE_COUNTERS, "taken_at", "period_seconds"))  # the SELECT's
    with connection.cursor() as cursor:
        # Only the model's own table and column names are formatted in; every value is a parameter.
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({names}) "  # noqa: S608
            f"SELECT *, %s, %s FROM unnest({', '.join(['%s::bigint[]'] * len(arrays))})",
            [now, RAW, *arrays],
        )


def _pending_sizes_apply(host: Host, found_by_pk: dict[int, DomainStats]) -> None:
    """Count a shrink that waited for the next boot once the host shows the guest at its new size.

    Only the VMs the reconcile's read found with a pending size are loaded (usually none); the
    quota frees what the guest really gave back, not what was asked.
    """
    pending = VirtualMachine.objects.filter(host=host, pk__in=list(found_by_pk)).filter(
        Q(pending_vcpus__isnull=False) | Q(pending_memory_mib__isnull=False)
    )
    for vm in pending:
        stats = found_by_pk[vm.pk]
        changed = []
        if vm.pending_vcpus is not None and stats.vcpus is not None and stats.vcpus <= vm.pending_vcpus:
            vm.vcpus, vm.pending_vcpus = vm.pending_vcpus, None
            changed += ["vcpus", "pending_vcpus"]
        current = stats.memory_current_kib
        # A balloon lands within a MiB of its target.
        if vm.pending_memory_mib is not None and current is not None and current <= vm.pending_memory_mib * 1024 + 1024:
            vm.memory_mib, vm.pending_memory_mib = vm.pending_memory_mib, None
            changed += ["memory_mib", "pending_memory_mib"]
        if changed:
            vm.save(update_fields=[*changed, "updated_at"])


UNMANAGED_FIELDS = ("name", "state", "vcpus", "memory_mib", "disk_gib")


#: How stale an unmanaged domain's "last seen" may get before it is written again. A domain that
#: vanishes loses its row at the next reconcile, so every row is current anyway; rewriting the stamp
#: of every row on every run would make each steady reconcile write a thousand rows for nothing.
LAST_SEEN_RESOLUTION = timedelta(minutes=10)


def _unmanaged_rows(host: Host) -> dict[str, tuple[list[object], datetime]]:
    """The host's unmanaged domains by UUID: their ``UNMANAGED_FIELDS`` values and when last seen."""
    return {
        str(uuid): (values, last_seen)
        for uuid, last_seen, *values in UnmanagedDomain.objects.filter(host=host).values_list(
            "uuid", "last_seen_at", *UNMANAGED_FIELDS
        )
    }


def _reconcile_unmanaged(
    host: Host,
    unmanaged: dict[str, tuple[list[object], datetime]],
    found: dict[str, DomainStats],
    now: datetime,
    report: ReconcileReport,
) -> None:
    """List for admins the domains no VM row describes, and forget those that are gone.

    Only new or changed rows are written, in one upsert (after checking that no VM row claimed
    them since the VMs were read); the vanished ones are deleted by key, and "last seen" is
    refreshed within ``LAST_SEEN_RESOLUTION``. A steady host costs one UPDATE that usually
    matches no row. A domain whose sizes were not asked (its row's were trusted) keeps them.
    """
    known = {uuid: values for uuid, (values, _last_seen) in unmanaged.items()}
    upserts = []
    for uuid, stats in found.items():
        sizes: tuple[object, object] = (stats.vcpus, stats.memory_max_kib // 1024 if stats.memory_max_kib else None)
        if sizes == (None, None) and uuid in known:
            sizes = (known[uuid][2], known[uuid][3])
        disk = max(1, -(-stats.disk_capacity_bytes // GIB)) if stats.disk_capacity_bytes else None
        values = (stats.name, stats.state, *sizes, disk)
        if known.get(uuid) != list(values):
            upserts.append(
                UnmanagedDomain(
                    host=host, uuid=uuid, last_seen_at=now, **dict(zip(UNMANAGED_FIELDS, values, strict=True))
                )
            )
    if upserts:
        # A VM placed here after the reconcile read the host's VMs has a row now: its domain is not unmanaged.
        claimed = set(
            map(str, VirtualMachine.objects.filter(host=host, uuid__in=[row.uuid for row in upserts]).values_list(
                "uuid", flat=True
            ))
        )  # fmt: skip
        upserts = [row for row in upserts if str(row.uuid) not in claimed]
    UnmanagedDomain.objects.bulk_create(
        upserts, update_conflicts=True, unique_fields=["host", "uuid"], update_fields=list(UNMANAGED_FIELDS)
    )
    gone = [uuid for uuid in known if uuid not in found]
    if gone:
        UnmanagedDomain.objects.filter(host=host, uuid__in=gone).delete()
    UnmanagedDomain.objects.filter(host=host, last_seen_at__lt=now - LAST_SEEN_RESOLUTION).update(last_seen_at=now)
    report.unmanaged = len(found)


def _leases(host: Host, driver: HypervisorDriver) -> dict[str, list[str]]:
    """Addresses handed out by the DHCP servers of the host's networks that VMs have cards on, by MAC."""
    found: dict[str, list[str]] = {}
    names = VirtualNetwork.objects.filter(host=host, interfaces__isnull=False).values_list("libvirt_name", flat=True)
    for name in set(names):
        found.update(driver.network_leases(name))
    return found


def _reconcile_networks(host: Host, networks: dict[str, NetworkStatus], leases: dict[str, list[str]]) -> None:
    """Network states as the host reports them, and each VM card's addresses from the leases."""
    changed = []
    for network in VirtualNetwork.objects.filter(host=host).exclude(state=NetworkState.BUILDING):
        status = networks.get(str(network.uuid))
        state = (
            NetworkState.MISSING if status is None else NetworkState.ACTIVE if status.active else NetworkState.INACTIVE
        )
        if network.state != state:
            network.state = state
            changed.append(network)
    VirtualNetwork.objects.bulk_update(changed, ["state"])
    cards = []
    for card in VMInterface.objects.filter(network__host=host):
        addresses = sorted(leases.get(card.mac.lower(), []))
        if card.ip_addresses != addresses:
            card.ip_addresses = addresses
            cards.append(card)
    VMInterface.objects.bulk_update(cards, ["ip_addresses"])
