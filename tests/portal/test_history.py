"""Load history: raw readings become minute, then hour rows with age, then go; rates between kept rows stay true."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from containers.models import ContainerStatSample
from hypervisors.models import HostStatSample, VMStatSample
from portal.history import HOUR, MINUTE, RAW, history_compact, history_specs
from portal.tasks import history_compact as history_compact_task
from tests.factories.containers import ContainerFactory
from tests.factories.hypervisors import HostFactory, VirtualMachineFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 12, 0, 30, tzinfo=timezone.get_fixed_timezone(0))


def vm_reading(vm, at: datetime, cpu_ns: int, memory_kib: int) -> VMStatSample:
    return VMStatSample.objects.create(
        vm=vm, taken_at=at, cpu_time_ns=cpu_ns, memory_used_kib=memory_kib, net_rx_bytes=cpu_ns // 10
    )


def rows(vm) -> list[tuple[int, datetime, int, int]]:
    return list(
        VMStatSample.objects.filter(vm=vm)
        .order_by("taken_at")
        .values_list("period_seconds", "taken_at", "cpu_time_ns", "memory_used_kib")
    )


def test_every_kind_that_samples_is_registered():
    assert {spec.model for spec in history_specs()} == {VMStatSample, HostStatSample, ContainerStatSample}


def test_readings_older_than_an_hour_become_one_row_per_minute(settings):
    settings.PORTAL_HISTORY_RAW_MINUTES = 60
    vm = VirtualMachineFactory()
    minute = NOW.replace(second=0) - timedelta(hours=2)
    # Four readings in one minute: counters climb, memory moves about.
    for second, cpu, memory in ((0, 100, 1000), (15, 200, 3000), (30, 300, 2000), (45, 400, 2000)):
        vm_reading(vm, minute + timedelta(seconds=second), cpu, memory)
    vm_reading(vm, minute + timedelta(minutes=1, seconds=5), 500, 4000)
    recent = vm_reading(vm, NOW - timedelta(minutes=10), 900, 5000)

    figures = history_compact(NOW)

    assert figures["minute_rows"] == 2
    assert rows(vm) == [
        (MINUTE, minute + timedelta(seconds=45), 400, 2000),  # the last counter, the average memory
        (MINUTE, minute + timedelta(minutes=1, seconds=5), 500, 4000),
        (RAW, recent.taken_at, 900, 5000),
    ]
    assert VMStatSample.objects.get(vm=vm, cpu_time_ns=400).net_rx_bytes == 40


def test_a_rate_between_kept_rows_is_the_average_over_that_time():
    vm = VirtualMachineFactory()
    start = NOW.replace(second=0) - timedelta(hours=3)
    for step in range(20):  # one reading every 15 s: 5 minutes at 1 ms of CPU per second
        vm_reading(vm, start + timedelta(seconds=15 * step), 15_000_000 * step, 1000)
    first_minute_end, last = start + timedelta(seconds=45), start + timedelta(seconds=285)

    history_compact(NOW)

    kept = VMStatSample.objects.filter(vm=vm).order_by("taken_at")
    assert kept.first().taken_at == first_minute_end and kept.last().taken_at == last
    seconds = (kept.last().taken_at - kept.first().taken_at).total_seconds()
    assert (kept.last().cpu_time_ns - kept.first().cpu_time_ns) / seconds == pytest.approx(1_000_000)


def test_minute_rows_older_than_a_week_become_hour_rows_and_the_oldest_go(settings):
    settings.PORTAL_HISTORY_MINUTE_DAYS = 7
    settings.PORTAL_HISTORY_HOUR_DAYS = 90
    host = HostFactory()
    hour = NOW.replace(minute=0, second=0) - timedelta(days=8)
    for minute, busy in ((0, 10), (20, 20), (59, 30)):
        HostStatSample.objects.create(
            host=host, taken_at=hour + timedelta(minutes=minute), cpu_busy_ns=busy, cpu_total_ns=busy * 2,
            memory_total_kib=100, memory_free_kib=minute, running_domains=1, period_seconds=MINUTE,
        )  # fmt: skip
    HostStatSample.objects.create(host=host, taken_at=NOW - timedelta(days=91), running_domains=3, period_seconds=HOUR)
    HostStatSample.objects.create(host=host, taken_at=NOW - timedelta(days=95), running_domains=3)

    figures = history_compact(NOW)

    assert figures["hour_rows"] == 1 and figures["expired"] == 2
    kept = HostStatSample.objects.get(host=host)
    assert (kept.period_seconds, kept.taken_at, kept.cpu_busy_ns) == (HOUR, hour + timedelta(minutes=59), 30)
    assert (kept.memory_free_kib, kept.running_domains) == (26, 1)


def test_container_gauges_are_averaged_and_a_second_run_changes_nothing():
    container = ContainerFactory()
    minute = NOW.replace(second=0) - timedelta(hours=2)
    for second, cpu in ((0, 10.0), (20, 20.0), (40, 60.0)):
        ContainerStatSample.objects.create(
            container=container, taken_at=minute + timedelta(seconds=second), cpu_percent=cpu, memory_used_kib=None
        )

    history_compact(NOW)
    once = list(ContainerStatSample.objects.values_list("period_seconds", "taken_at", "cpu_percent", "memory_used_kib"))
    assert history_compact(NOW) == {"minute_rows": 0, "hour_rows": 0, "expired": 0}

    assert once == [(MINUTE, minute + timedelta(seconds=40), 30.0, None)]
    assert (
        list(ContainerStatSample.objects.values_list("period_seconds", "taken_at", "cpu_percent", "memory_used_kib"))
        == once
    )


def test_a_minute_still_running_is_left_whole():
    vm = VirtualMachineFactory()
    boundary = (NOW - timedelta(hours=1)).replace(second=0)
    before, after = (
        vm_reading(vm, boundary - timedelta(seconds=5), 1, 1),
        vm_reading(vm, boundary + timedelta(seconds=5), 2, 1),
    )

    history_compact(NOW)

    assert VMStatSample.objects.get(pk=after.pk).period_seconds == RAW
    assert VMStatSample.objects.get(taken_at=before.taken_at).period_seconds == MINUTE


def test_the_beat_task_compacts():
    vm = VirtualMachineFactory()
    vm_reading(vm, timezone.now() - timedelta(hours=3), 1, 1)
    history_compact_task()
    assert VMStatSample.objects.get(vm=vm).period_seconds == MINUTE
