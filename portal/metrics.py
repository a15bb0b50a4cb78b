"""Metrics for Prometheus: the registry the apps plug their collectors into, and the exposition.

A scrape is built from database rows, like a page: the rows the reconcile and the jobs
keep true (only the Celery queues' depth is read from the broker, ``portal.metrics_queues``).
Each collector yields whole metric families on each scrape (a custom ``Collector``, one or
a few aggregate queries per family, never a query per VM), into a ``CollectorRegistry`` of
the portal's own, so nothing another library registers in prometheus_client's global
default registry leaks into the exposition.

The base knows no kind of resource: an app that has hosts or engines registers its
collector, and the Celery queues its jobs use, in its ``AppConfig.ready`` (as kinds
register in ``portal.kinds``).

Label sets stay bounded: a team's slug, a host's or engine's name, a resource's name,
a state, a kind, a job action, a queue. Never a job, request or row id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from prometheus_client.registry import Collector, CollectorRegistry

from portal.history import RAW

#: How many reconcile intervals a sample stays current for a scrape.
SAMPLE_WINDOW_INTERVALS = 3
KIB, MIB = 1024, 1024**2

#: A function that names Celery queues jobs may be sent to (each host's own queue...).
QueueSource = Callable[[], Iterable[str]]

_collectors: dict[str, Collector] = {}
_queue_sources: dict[str, QueueSource] = {}


def _key(named: Any) -> str:
    """Where a class or function is defined: registering the same one again replaces it."""
    return f"{named.__module__}.{named.__qualname__}"


def metrics_collector_register(collector: Collector) -> None:
    """Add a collector to every scrape; called from an app's ``ready()``. A second one of its class replaces it."""
    _collectors[_key(type(collector))] = collector


def metrics_queues_register(source: QueueSource) -> None:
    """Add a source of queue names whose depth every scrape reports; registering it again replaces it."""
    _queue_sources[_key(source)] = source


def registered_queue_names() -> list[str]:
    """The queues the apps named (asked at each scrape: hosts come and go)."""
    return [name for source in _queue_sources.values() for name in source()]


def metrics_registry() -> CollectorRegistry:
    """A registry of the portal's own holding the base's collectors and every registered one.

    ``auto_describe`` stays off: registering then asks no collector anything, so building the
    registry costs no query; the families are collected only when the exposition is written.
    """
    from portal.metrics_collectors import PortalCollector
    from portal.metrics_queues import QueueCollector

    registry = CollectorRegistry(auto_describe=False)
    for collector in (PortalCollector(), QueueCollector(), *_collectors.values()):
        registry.register(collector)
    return registry


def metrics_exposition() -> bytes:
    """Every family, in the Prometheus text format (as ``generate_latest`` writes it; see ``portal.metrics_text``)."""
    from portal.metrics_text import text_format

    return text_format(metrics_registry().collect())


# -- helpers the collectors share ------------------------------------------------------------------


def sample_window_start(now: datetime) -> datetime:
    """The oldest sample a scrape still reports: three reconcile intervals back.

    A machine whose host or engine stopped answering gets no new samples; after this window its
    usage series go away instead of repeating old values as if they were current (its reconcile
    age keeps rising, which is what to alert on).
    """
    return now - timedelta(seconds=SAMPLE_WINDOW_INTERVALS * settings.PORTAL_RECONCILE_INTERVAL)


def newest_samples(
    samples: type[models.Model], owner: str, fields: Iterable[str], since: datetime
) -> dict[int, dict[str, Any]]:
    """The newest sample of each owner taken since ``since``, as plain values by owner id: one query.

    ``samples`` is a model of readings with a foreign key ``owner``, registered with ``portal.history``:
    the query walks its (period, time) index over the window's raw readings (about two per machine),
    whatever the history keeps.
    Rows come oldest first, so each owner ends with its newest.
    """
    rows = (
        samples._default_manager.filter(period_seconds=RAW, taken_at__gte=since)
        .order_by("taken_at")
        .values(f"{owner}_id", *fields)
    )
    return {row[f"{owner}_id"]: row for row in rows}


def age_seconds(moment: datetime | None, now: datetime | None = None) -> float | None:
    """Seconds since ``moment``; None when it never happened."""
    if moment is None:
        return None
    return max(0.0, ((now or timezone.now()) - moment).total_seconds())
