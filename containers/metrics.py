"""Metric families of Docker engines and their containers, read from rows (see ``portal.metrics``).

Per scrape: one query for the engines, one for the containers (with their teams), and one for
the samples of the last few reconciles, of which each running container's newest counts. The
reconcile samples a container's CPU (as a share of its CPU limit) and memory in use; the engine
gives no disk or network counters there.

Label sets: engines ``{engine}``; containers ``{team, engine, name}`` (team slug, engine name,
container name: unique together) and ``state`` on ``portal_container_state``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from containers.choices import ContainerState
from containers.models import Container, ContainerStatSample, DockerHost
from portal.metrics import KIB, MIB, age_seconds, newest_samples, sample_window_start

ENGINE = ["engine"]
CONTAINER = ["team", "engine", "name"]
#: Containers whose newest sample stands for what they use now.
ACTIVE_STATES = (ContainerState.RUNNING, ContainerState.PAUSED, ContainerState.RESTARTING)
#: Rows as ``values()`` reads them.
Rows = Sequence[Mapping[str, Any]]


class ContainerCollector(Collector):
    """Engines and containers, from their rows and newest samples."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        engines = list(
            DockerHost.objects.order_by("name").values(
                "name", "is_reachable", "cpus", "memory_mib", "last_reconciled_at"
            )
        )
        containers = list(
            Container.objects.order_by("team__slug", "name").values(
                "pk", "team__slug", "docker_host__name", "name", "state", "cpus", "memory_mib"
            )
        )
        yield from engine_families(engines, containers, now)
        yield from container_families(containers, now)


def engine_families(engines: Rows, containers: Rows, now: datetime) -> Iterator[Metric]:
    """Reachability, size, what the containers were given and reconcile age of each engine."""
    given: dict[str, dict[str, Decimal]] = defaultdict(lambda: {"cpus": Decimal(0), "memory_mib": Decimal(0)})
    for container in containers:
        given[container["docker_host__name"]]["cpus"] += container["cpus"]
        given[container["docker_host__name"]]["memory_mib"] += container["memory_mib"]
    up = GaugeMetricFamily(
        "portal_engine_up", "Whether the engine answered its last probe or reconcile.", labels=ENGINE
    )
    cpus = GaugeMetricFamily("portal_engine_cpus", "CPUs of the engine's machine, from its last probe.", labels=ENGINE)
    memory = GaugeMetricFamily("portal_engine_memory_bytes", "Memory of the engine's machine.", labels=ENGINE)
    given_cpus = GaugeMetricFamily(
        "portal_engine_container_cpus", "CPU limits of the engine's containers, summed.", labels=ENGINE
    )
    given_memory = GaugeMetricFamily(
        "portal_engine_container_memory_bytes", "Memory limits of the engine's containers, summed.", labels=ENGINE
    )
    age = GaugeMetricFamily(
        "portal_engine_last_reconcile_age_seconds",
        "Seconds since a reconcile last read the engine whole.",
        labels=ENGINE,
    )
    for engine in engines:
        name = engine["name"]
        up.add_metric([name], 1 if engine["is_reachable"] else 0)
        if engine["cpus"] is not None:
            cpus.add_metric([name], engine["cpus"])
        if engine["memory_mib"] is not None:
            memory.add_metric([name], engine["memory_mib"] * MIB)
        given_cpus.add_metric([name], float(given[name]["cpus"]))
        given_memory.add_metric([name], float(given[name]["memory_mib"]) * MIB)
        if (seconds := age_seconds(engine["last_reconciled_at"], now)) is not None:
            age.add_metric([name], seconds)
    yield from (up, cpus, memory, given_cpus, given_memory, age)


def container_families(containers: Rows, now: datetime) -> Iterator[Metric]:
    """State and limits of every container, and the newest load of each running one."""
    state = GaugeMetricFamily(
        "portal_container_state", "1 for the state the container is in.", labels=[*CONTAINER, "state"]
    )
    cpus = GaugeMetricFamily("portal_container_cpus", "CPU limit of the container.", labels=CONTAINER)
    memory = GaugeMetricFamily("portal_container_memory_bytes", "Memory limit of the container.", labels=CONTAINER)
    labels_of: dict[int, list[str]] = {}
    for container in containers:
        labels = [container["team__slug"], container["docker_host__name"], container["name"]]
        if container["state"] in ACTIVE_STATES:
            labels_of[container["pk"]] = labels
        state.add_metric([*labels, container["state"]], 1)
        cpus.add_metric(labels, float(container["cpus"]))
        memory.add_metric(labels, container["memory_mib"] * MIB)
    yield from (state, cpus, memory)
    samples = newest_samples(
        ContainerStatSample, "container", ("cpu_percent", "memory_used_kib"), sample_window_start(now)
    )
    cpu = GaugeMetricFamily(
        "portal_container_cpu_ratio", "CPU the container used, as a share of its CPU limit.", labels=CONTAINER
    )
    used = GaugeMetricFamily("portal_container_memory_used_bytes", "Memory in use in the container.", labels=CONTAINER)
    for container_id, labels in labels_of.items():
        sample = samples.get(container_id)
        if sample is None:
            continue
        if sample["cpu_percent"] is not None:
            cpu.add_metric(labels, sample["cpu_percent"] / 100)
        if sample["memory_used_kib"] is not None:
            used.add_metric(labels, sample["memory_used_kib"] * KIB)
    yield from (cpu, used)
