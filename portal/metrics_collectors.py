"""The portal's own metric families: requests waiting for a decision, jobs, and how long jobs take.

Label sets: ``kind`` (a registered kind of resource), ``state`` (a job state), ``action``
(a registered job action). All bounded by the code, none by the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from portal.choices import FINISHED_JOB_STATES, RequestState
from portal.kinds import kind_handlers
from portal.models import Job, ResourceRequest

#: Upper bounds of the job duration buckets, in seconds: jobs last from a second (an action on a
#: container) to minutes (building a VM, loading an image).
JOB_DURATION_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


class PortalCollector(Collector):
    """Families read from requests and jobs; one grouped query each."""

    def collect(self) -> Iterator[Metric]:
        yield requests_pending()
        yield jobs_by_state()
        yield job_durations()


def requests_pending() -> GaugeMetricFamily:
    """Requests waiting for an administrator, by kind; every registered kind shows, with 0 when none waits."""
    family = GaugeMetricFamily("portal_requests_pending", "Requests waiting for a decision.", labels=["kind"])
    counts = dict(
        ResourceRequest.objects.filter(state=RequestState.PENDING)
        .order_by()
        .values("kind")
        .annotate(count=Count("pk"))
        .values_list("kind", "count")
    )
    for kind in sorted({handler.kind for handler in kind_handlers()} | set(counts)):
        family.add_metric([kind], counts.get(kind, 0))
    return family


def jobs_by_state() -> GaugeMetricFamily:
    """Job rows by state and action (finished ones included, for as long as their rows are kept)."""
    family = GaugeMetricFamily("portal_jobs", "Jobs by state and action.", labels=["state", "action"])
    rows = Job.objects.order_by().values("state", "action").annotate(count=Count("pk"))
    for row in sorted(rows, key=lambda row: (row["state"], row["action"])):
        family.add_metric([row["state"], row["action"]], row["count"])
    return family


def job_durations() -> HistogramMetricFamily:
    """How long finished jobs ran, from their started and finished times, by action: one grouped query.

    Every bucket is a filtered count in the same query, so the cost does not grow with the buckets'
    number beyond a column each. A job that never started (failed in the queue) has no duration.
    """
    family = HistogramMetricFamily(
        "portal_job_duration_seconds", "Time finished jobs ran, from start to finish.", labels=["action"]
    )
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    buckets = {
        f"le_{index}": Count("pk", filter=Q(duration__lte=timedelta(seconds=bound)))
        for index, bound in enumerate(JOB_DURATION_BUCKETS)
    }
    rows = (
        Job.objects.filter(state__in=FINISHED_JOB_STATES, started_at__isnull=False, finished_at__isnull=False)
        .order_by()
        .annotate(duration=duration)
        .values("action")
        .annotate(count=Count("pk"), total=Sum("duration"), **buckets)
    )
    for row in sorted(rows, key=lambda row: row["action"]):
        cumulative = [(str(bound), row[f"le_{index}"]) for index, bound in enumerate(JOB_DURATION_BUCKETS)]
        total = row["total"] or timedelta(0)
        family.add_metric(
            [row["action"]],
            buckets=[*cumulative, ("+Inf", row["count"])],
            sum_value=max(total.total_seconds(), 0.0),
        )
    return family
