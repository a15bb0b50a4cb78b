"""KVM or Docker? This installation's own answer, from its own jobs and samples.

A periodic task (:func:`figures_refresh`) turns the last weeks of provisioning
jobs and the latest stats samples into one ``PlatformFigures`` row per host and
per engine: how long an approved ask took to run (median and p95), how much
memory an instance takes beyond the size it was given, and how much room is
left. Pages read those rows; a team's "how many more fit" is a division of that
room by the team's own typical size.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from containers.choices import ContainerKind, ContainerState
from containers.models import Container, ContainerStatSample, DockerHost
from hypervisors.choices import HypervisorKind, VMState
from hypervisors.hosts.placement import host_room
from hypervisors.models import Host, VirtualMachine, VMStatSample
from overview.models import Platform, PlatformFigures
from portal.choices import JobState
from portal.kinds import kind_handler
from portal.models import Job

#: Samples older than this say nothing about what runs now.
SAMPLE_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Size:
    """A typical instance: CPUs (vCPUs for VMs) and memory in MiB."""

    cpus: float
    memory_mib: float


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` 0.95 for p95); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _start_times(kind: str, place_of: dict[int, int], since: datetime) -> dict[int, list[float]]:
    """Seconds from approval (the job's creation) to running, of each succeeded build since ``since``, by place."""
    jobs = Job.objects.filter(
        action=kind_handler(kind).provision_action, state=JobState.SUCCEEDED, finished_at__gte=since
    ).values_list("target_id", "created_at", "finished_at")
    by_place: dict[int, list[float]] = defaultdict(list)
    for target_id, created_at, finished_at in jobs:
        place = place_of.get(int(target_id)) if target_id.isdigit() else None
        if place is not None and finished_at is not None:
            by_place[place].append((finished_at - created_at).total_seconds())
    return by_place


def _latest(rows: Iterable[tuple[int, int, int, int | None]]) -> dict[int, list[tuple[int, int]]]:
    """From (instance, place, given MiB, used KiB) rows newest first: the newest reading of each instance, by place."""
    seen: set[int] = set()
    by_place: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for instance, place, given_mib, used_kib in rows:
        if instance in seen or used_kib is None or not given_mib:
            continue
        seen.add(instance)
        by_place[place].append((given_mib, used_kib))
    return by_place


def _memory_figures(readings: list[tuple[int, int]]) -> tuple[float | None, float | None]:
    """Median MiB beyond the size given, and median percentage of it in use."""
    beyond = [used_kib / 1024 - given_mib for given_mib, used_kib in readings]
    percent = [100 * used_kib / 1024 / given_mib for given_mib, used_kib in readings]
    return _median(beyond), _median(percent)


def _save(platform: str, place_id: int, place_name: str, now: datetime, **figures: object) -> None:
    PlatformFigures.objects.update_or_create(
        platform=platform,
        place_id=place_id,
        defaults={"place_name": place_name, "computed_at": now, **figures},
    )


def _vm_figures(since: datetime, now: datetime) -> set[int]:
    hosts = list(Host.objects.all())
    place_of = dict(VirtualMachine.objects.filter(host__isnull=False).values_list("pk", "host_id"))
    starts = _start_times(HypervisorKind.VM, place_of, since)
    readings = _latest(
        VMStatSample.objects.filter(taken_at__gte=now - SAMPLE_WINDOW, vm__state=VMState.RUNNING)
        .order_by("vm_id", "-taken_at")
        .values_list("vm_id", "vm__host_id", "vm__memory_mib", "memory_used_kib")
    )
    for host in hosts:
        beyond, percent = _memory_figures(readings.get(host.pk, []))
        free_cpus, free_memory = host_room(host) if host.cpus and host.memory_mib else (None, None)
        _save(
            Platform.KVM,
            host.pk,
            host.name,
            now,
            builds=len(starts.get(host.pk, [])),
            start_median_seconds=_median(starts.get(host.pk, [])),
            start_p95_seconds=percentile(starts.get(host.pk, []), 0.95),
            instances_measured=len(readings.get(host.pk, [])),
            memory_overhead_mib_median=beyond,
            memory_use_percent_median=percent,
            free_cpus=free_cpus,
            free_memory_mib=free_memory,
        )
    return {host.pk for host in hosts}


def _container_figures(since: datetime, now: datetime) -> set[int]:
    engines = list(DockerHost.objects.all())
    place_of = dict(Container.objects.values_list("pk", "docker_host_id"))
    starts = _start_times(ContainerKind.CONTAINER, place_of, since)
    readings = _latest(
        ContainerStatSample.objects.filter(taken_at__gte=now - SAMPLE_WINDOW, container__state=ContainerState.RUNNING)
        .order_by("container_id", "-taken_at")
        .values_list("container_id", "container__docker_host_id", "container__memory_mib", "memory_used_kib")
    )
    given = {
        row["docker_host_id"]: row
        for row in Container.objects.values("docker_host_id").annotate(cpus=Sum("cpus"), memory=Sum("memory_mib"))
    }
    for engine in engines:
        _, percent = _memory_figures(readings.get(engine.pk, []))
        used = given.get(engine.pk) or {"cpus": 0, "memory": 0}
        _save(
            Platform.DOCKER,
            engine.pk,
            engine.name,
            now,
            builds=len(starts.get(engine.pk, [])),
            start_median_seconds=_median(starts.get(engine.pk, [])),
            start_p95_seconds=percentile(starts.get(engine.pk, []), 0.95),
            instances_measured=len(readings.get(engine.pk, [])),
            memory_overhead_mib_median=None,
            memory_use_percent_median=percent,
            free_cpus=float(engine.cpus - (used["cpus"] or 0)) if engine.cpus else None,
            free_memory_mib=float(engine.memory_mib - (used["memory"] or 0)) if engine.memory_mib else None,
        )
    return {engine.pk for engine in engines}


def figures_refresh(now: datetime | None = None) -> int:
    """Recompute every host's and engine's figures; rows of hosts and engines that are gone are dropped.

    Returns how many rows there are now. Safe to run twice (each row is replaced).
    """
    now = now or timezone.now()
    since = now - timedelta(days=settings.PORTAL_COMPARISON_DAYS)
    with transaction.atomic():
        hosts = _vm_figures(since, now)
        engines = _container_figures(since, now)
        PlatformFigures.objects.filter(platform=Platform.KVM).exclude(place_id__in=hosts).delete()
        PlatformFigures.objects.filter(platform=Platform.DOCKER).exclude(place_id__in=engines).delete()
    return PlatformFigures.objects.count()


def figures_all() -> QuerySet[PlatformFigures]:
    """Every host's and engine's figures, KVM first."""
    return PlatformFigures.objects.all()


def typical_sizes(team_ids: Sequence[int]) -> dict[str, Size]:
    """The median size of these teams' own VMs and containers (a platform with none is left out)."""
    sizes: dict[str, Size] = {}
    vms = list(VirtualMachine.objects.filter(team_id__in=team_ids).values_list("vcpus", "memory_mib"))
    if vms:
        sizes[Platform.KVM] = Size(statistics.median(v[0] for v in vms), statistics.median(v[1] for v in vms))
    ctrs = list(Container.objects.filter(team_id__in=team_ids).values_list("cpus", "memory_mib"))
    if ctrs:
        sizes[Platform.DOCKER] = Size(
            float(statistics.median(c[0] for c in ctrs)), statistics.median(c[1] for c in ctrs)
        )
    return sizes


def fits(figures: PlatformFigures, size: Size | None) -> int | None:
    """How many more instances of ``size`` the host or engine has room for; None when unknown."""
    if size is None or figures.free_cpus is None or figures.free_memory_mib is None:
        return None
    return max(0, math.floor(min(figures.free_cpus / size.cpus, figures.free_memory_mib / size.memory_mib)))
