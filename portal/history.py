"""History of load samples: full resolution for an hour, then minute and hour averages, then gone.

Every kind that samples load (VMs, hosts, containers) registers its sample model
here. A beat task rolls samples older than the raw window into one row per
owner and minute, minute rows older than a week into one row per owner and
hour, and drops hour rows past their retention, so a year of samples for a
thousand VMs stays bounded. Cumulative counters (CPU time, bytes moved) keep the
last reading of a bucket, so a rate between two kept rows is the true average
over the time between them; gauges (memory in use, a CPU percentage) keep the
bucket's average. Rolling a bucket twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Avg, Max
from django.db.models.functions import TruncHour, TruncMinute
from django.utils import timezone

#: ``period_seconds`` of a sample as read; of a minute's and an hour's rolled-up row.
RAW, MINUTE, HOUR = 0, 60, 3600
#: Rows written per insert when rolling up.
BATCH = 2000


@dataclass(frozen=True)
class SampleSpec:
    """A sample model: its owner's foreign key, and which columns are counters and which gauges."""

    model: type[models.Model]
    owner: str
    counters: tuple[str, ...] = ()
    gauges: tuple[str, ...] = ()


_SPECS: list[SampleSpec] = []


def history_register(spec: SampleSpec) -> None:
    """Called from an app's ``ready()``: its samples are rolled up and expired with the others."""
    if spec.model not in {known.model for known in _SPECS}:
        _SPECS.append(spec)


def history_specs() -> list[SampleSpec]:
    return list(_SPECS)


def _roll_up(spec: SampleSpec, source: int, target: int, before: datetime) -> int:
    """Replace the ``source`` rows older than ``before`` by one ``target`` row per owner and bucket."""
    trunc = TruncMinute if target == MINUTE else TruncHour
    owner = f"{spec.owner}_id"
    rows = spec.model.objects.filter(period_seconds=source, taken_at__lt=before)  # type: ignore[attr-defined]
    buckets = (
        rows.annotate(bucket=trunc("taken_at"))
        .values(owner, "bucket")
        .annotate(
            last=Max("taken_at"),
            **{f"c_{name}": Max(name) for name in spec.counters},
            **{f"g_{name}": Avg(name) for name in spec.gauges},
        )
        .order_by()
    )
    gauge_types = {name: spec.model._meta.get_field(name) for name in spec.gauges}
    with transaction.atomic():
        made = [
            spec.model(
                **{owner: bucket[owner], "taken_at": bucket["last"], "period_seconds": target},
                **{name: bucket[f"c_{name}"] for name in spec.counters},
                **{name: _gauge(gauge_types[name], bucket[f"g_{name}"]) for name in spec.gauges},
            )
            for bucket in buckets
        ]
        rows.delete()
        spec.model.objects.bulk_create(made, batch_size=BATCH)  # type: ignore[attr-defined]
    return len(made)


def _gauge(field: Any, average: float | None) -> float | int | None:
    """An average in the column's own type (a whole number of KiB stays whole)."""
    if average is None:
        return None
    return average if isinstance(field, models.FloatField) else round(average)


def _bucket_start(moment: datetime, seconds: int) -> datetime:
    """The start of the minute or hour holding ``moment``: only whole buckets are rolled up."""
    if seconds == HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(second=0, microsecond=0)


def history_compact(now: datetime | None = None) -> dict[str, int]:
    """Roll up and expire every registered kind's samples; returns rows written and dropped. Idempotent."""
    now = now or timezone.now()
    raw_until = _bucket_start(now - timedelta(minutes=settings.PORTAL_HISTORY_RAW_MINUTES), MINUTE)
    minute_until = _bucket_start(now - timedelta(days=settings.PORTAL_HISTORY_MINUTE_DAYS), HOUR)
    hour_until = now - timedelta(days=settings.PORTAL_HISTORY_HOUR_DAYS)
    figures = {"minute_rows": 0, "hour_rows": 0, "expired": 0}
    for spec in _SPECS:
        # First what is older than the longest retention goes, whatever its period (a host that was down for months);
        # one delete per period, so each walks the (period, time) index.
        for period in (RAW, MINUTE, HOUR):
            old = spec.model.objects.filter(period_seconds=period, taken_at__lt=hour_until)  # type: ignore[attr-defined]
            figures["expired"] += old.delete()[0]
        figures["minute_rows"] += _roll_up(spec, RAW, MINUTE, raw_until)
        figures["hour_rows"] += _roll_up(spec, MINUTE, HOUR, minute_until)
    return figures
