"""Rates of the top pages from two readings of a host: per second, in percent of a CPU, never negative."""

from __future__ import annotations

from hypervisors.drivers import DomainStats
from hypervisors.hosts.top_rows import Reading, rate, top_rows

UUID = "6695eb01-f6a4-8304-79aa-97f2502e193f"


def stats(**counters) -> DomainStats:
    return DomainStats(uuid=UUID.upper(), name="web", state="running", **counters)


def reading(taken_at: float, domain: DomainStats, sizes=(2, 1048576)) -> Reading:
    return Reading(taken_at=taken_at, domains={UUID: domain}, sizes={UUID: sizes})


def test_rates_are_the_change_per_second_between_two_readings():
    before = stats(
        cpu_time_ns=10_000_000_000, disk_read_bytes=1000, disk_write_bytes=0, net_rx_bytes=0, net_tx_bytes=50
    )
    after = stats(
        cpu_time_ns=13_000_000_000, disk_read_bytes=5000, disk_write_bytes=2048, net_rx_bytes=300, net_tx_bytes=50
    )

    [row] = top_rows(reading(100.0, before), reading(102.0, after))

    # 3 s of CPU in 2 s: a guest busy on one and a half CPUs, as top counts a process.
    assert row["cpu_percent"] == 150.0
    assert (row["disk_read_bps"], row["disk_write_bps"]) == (2000, 1024)
    assert (row["net_rx_bps"], row["net_tx_bps"]) == (150, 0)
    assert (row["uuid"], row["name"], row["state"]) == (UUID, "web", "running")


def test_memory_is_used_of_given_and_sizes_come_from_the_reading():
    current = reading(2.0, stats(memory_used_kib=262144), sizes=(1, 524288))

    [row] = top_rows(None, current)

    assert (row["memory_used_kib"], row["memory_max_kib"], row["vcpus"]) == (262144, 524288, 1)


def test_a_first_reading_has_states_and_no_rates():
    [row] = top_rows(None, reading(1.0, stats(cpu_time_ns=5, disk_read_bytes=9)))

    assert row["state"] == "running"
    assert [row[key] for key in ("cpu_percent", "disk_read_bps", "disk_write_bps", "net_rx_bps", "net_tx_bps")] == [
        None
    ] * 5


def test_a_domain_new_since_the_previous_reading_has_no_rates_yet():
    other = Reading(taken_at=1.0, domains={}, sizes={})

    [row] = top_rows(other, reading(3.0, stats(cpu_time_ns=5)))

    assert row["cpu_percent"] is None


def test_a_counter_that_went_down_gives_no_rate():
    """The domain restarted between the readings: its counters began again from zero."""
    assert rate(100, 5000, 2.0) is None
    [row] = top_rows(reading(1.0, stats(cpu_time_ns=9_000_000_000)), reading(3.0, stats(cpu_time_ns=1_000_000)))
    assert row["cpu_percent"] is None


def test_a_counter_the_host_does_not_report_gives_no_rate():
    assert rate(None, 10, 2.0) is None
    assert rate(10, None, 2.0) is None
    assert rate(10, 5, 0.0) is None
