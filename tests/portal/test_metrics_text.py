"""The fast text format writes exactly what prometheus_client's ``generate_latest`` writes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from portal.metrics import metrics_registry
from portal.metrics_text import text_format
from tests.factories import (
    ContainerFactory,
    ContainerStatSampleFactory,
    JobFactory,
    VirtualMachineFactory,
    VMStatSampleFactory,
)


class Awkward(Collector):
    """Families with every shape the format knows, and values that need escaping or an exponent."""

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily("awkward_gauge", 'Help with a \\ backslash\nand a "quote".', labels=["b", "a"])
        for index, value in enumerate([0, 1, -3, 999_999, 1_000_000, 10**11, 2**53 + 1, 0.5, 1e-9, float("inf"),
                                       float("nan"), -(10**16), True]):  # fmt: skip
            gauge.add_metric([f'va"l\\ue\n{index}', "é"], value)
        yield gauge
        counter = CounterMetricFamily("awkward_seconds", "A counter.", labels=["x"], created=1_700_000_000.5)
        counter.add_metric(["1"], 12.25, created=1_700_000_000.5, timestamp=1_700_000_001.25)
        yield counter
        histogram = HistogramMetricFamily("awkward_duration_seconds", "A histogram.", labels=["action"])
        histogram.add_metric(["go"], buckets=[("1.0", 1), ("2.5", 3), ("+Inf", 4)], sum_value=7.5)
        yield histogram
        yield InfoMetricFamily("awkward_build", "Info.", value={"version": "1.2", "commit": "abc"})
        yield StateSetMetricFamily("awkward_state", "A state set.", value={"on": True, "off": False})
        yield GaugeMetricFamily("awkward_empty", "No samples.")


def test_awkward_families_are_written_as_generate_latest_writes_them():
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Awkward())
    assert text_format(registry.collect()) == generate_latest(registry)


@pytest.mark.django_db
def test_the_portals_own_families_are_written_as_generate_latest_writes_them(settings):
    settings.CELERY_BROKER_URL = "memory://"
    for vm in VirtualMachineFactory.create_batch(3):
        VMStatSampleFactory(vm=vm, cpu_time_ns=123_456_789_000, disk_read_bytes=10**12)
    ContainerStatSampleFactory(container=ContainerFactory(), cpu_percent=33.3)
    JobFactory(state="succeeded")
    registry = metrics_registry()
    families = list(registry.collect())

    class Fixed(Collector):
        def collect(self) -> Iterator[Metric]:
            return iter(families)

    fixed = CollectorRegistry(auto_describe=False)
    fixed.register(Fixed())
    assert text_format(families) == generate_latest(fixed)
