"""Load graphs: rates from neighbouring samples and the SVG drawn from them."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from hypervisors.graphs import (
    Series,
    gauge_series,
    host_series,
    rate_series,
    svg_graph,
    svg_graphs,
    vm_series,
)
from hypervisors.models import HostStatSample, VMStatSample

SVG = "{http://www.w3.org/2000/svg}"
#: The drawing's size in SVG user units and its inner margin.
WIDTH, HEIGHT, MARGIN = 600, 120, 4
T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
GIB_NS = 10**9  # one second of CPU time, in ns


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def vm_samples(*rows) -> list[VMStatSample]:
    """Samples as the reconcile stores them: (seconds after T0, cpu_time_ns, memory_used_kib...)."""
    samples = []
    for row in rows:
        seconds, cpu, *rest = row
        values = dict(zip(("memory_used_kib", "disk_read_bytes", "disk_write_bytes", "net_rx_bytes", "net_tx_bytes"),
                          rest, strict=False))  # fmt: skip
        samples.append(VMStatSample(taken_at=at(seconds), cpu_time_ns=cpu, **values))
    return samples


def values(series: Series) -> list[float]:
    return [round(value, 6) for _, value in series.points]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def polyline_points(svg: str) -> list[tuple[float, float]]:
    line = parse(svg).find(f"{SVG}polyline")
    if line is None:
        return []
    return [tuple(float(n) for n in pair.split(",")) for pair in line.get("points").split()]


# --- rates ---


def test_cpu_percent_from_cpu_time_deltas_and_vcpus():
    samples = vm_samples((0, 0), (60, 30 * GIB_NS), (120, 90 * GIB_NS))
    assert values(vm_series(samples, vcpus=1)[0]) == [50.0, 100.0]
    assert values(vm_series(samples, vcpus=2)[0]) == [25.0, 50.0]
    assert values(vm_series(samples, vcpus=4)[0]) == [12.5, 25.0]
    cpu = vm_series(samples, vcpus=1)[0]
    assert [moment for moment, _ in cpu.points] == [at(60), at(120)], "a rate belongs to the later sample"
    assert (cpu.label, cpu.unit, cpu.css_class) == ("CPU", "%", "cpu")


def test_cpu_percent_is_capped_and_zero_vcpus_does_not_divide_by_zero():
    samples = vm_samples((0, 0), (10, 30 * GIB_NS))  # 3 s of CPU per second: more than one vCPU can give
    assert values(vm_series(samples, vcpus=1)[0]) == [100.0]
    assert values(vm_series(samples, vcpus=0)[0]) == [100.0]


def test_counter_reset_is_skipped_not_negative():
    samples = vm_samples((0, 0), (60, 60 * GIB_NS), (120, 10 * GIB_NS), (180, 40 * GIB_NS))
    cpu = vm_series(samples, vcpus=1)[0]
    assert values(cpu) == [100.0, 50.0]
    assert [moment for moment, _ in cpu.points] == [at(60), at(180)]


def test_missing_counters_and_non_increasing_times_are_skipped():
    samples = vm_samples((0, 0), (60, None), (120, 60 * GIB_NS), (120, 90 * GIB_NS), (180, 120 * GIB_NS))
    # 0->None, None->60: skipped; 120->120: no time passed; 120->180: 30 s of CPU in 60 s
    assert values(vm_series(samples, vcpus=1)[0]) == [50.0]
    assert values(rate_series([], lambda s: s.cpu_time_ns, lambda r, _s: r, Series("x", "", "x"))) == []
    assert values(rate_series(samples[:1], lambda s: s.cpu_time_ns, lambda r, _s: r, Series("x", "", "x"))) == []


def test_memory_disk_and_network_series():
    samples = vm_samples(
        (0, 0, 256 * 1024, 0, 0, 0, 0),
        (10, GIB_NS, 512 * 1024, 10 * 1024 * 10, 20 * 1024 * 10, 30 * 1024 * 10, 40 * 1024 * 10),
        (20, 2 * GIB_NS, None, 10 * 1024 * 10, 20 * 1024 * 10, 30 * 1024 * 10, 40 * 1024 * 10),
    )
    _cpu, memory, read, write, rx, tx = vm_series(samples, vcpus=1)
    assert values(memory) == [256.0, 512.0], "MiB; a sample without the figure is left out"
    assert (memory.unit, memory.css_class) == ("MiB", "memory")
    assert values(read) == [10.0, 0.0]
    assert values(write) == [20.0, 0.0]
    assert values(rx) == [30.0, 0.0]
    assert values(tx) == [40.0, 0.0]
    assert {s.unit for s in (read, write, rx, tx)} == {"KiB/s"}
    assert memory.last == 512.0
    assert Series("empty", "", "e").last is None


def test_gauge_series_replaces_earlier_points():
    series = Series("g", "", "g", points=[(T0, 1.0)])
    gauge_series(vm_samples((5, 0, 1024)), lambda s: s.memory_used_kib, series)
    assert series.points == [(at(5), 1024)]


def test_host_series():
    samples = [
        HostStatSample(taken_at=at(0), cpu_busy_ns=10 * GIB_NS, cpu_total_ns=100 * GIB_NS,
                       memory_total_kib=4 * 1024 * 1024, memory_free_kib=1024 * 1024, running_domains=1),
        HostStatSample(taken_at=at(60), cpu_busy_ns=40 * GIB_NS, cpu_total_ns=160 * GIB_NS,
                       memory_total_kib=4 * 1024 * 1024, memory_free_kib=2 * 1024 * 1024, running_domains=1),
        HostStatSample(taken_at=at(120), cpu_busy_ns=None, cpu_total_ns=None,
                       memory_total_kib=None, memory_free_kib=None, running_domains=1),
        HostStatSample(taken_at=at(180), cpu_busy_ns=40 * GIB_NS, cpu_total_ns=160 * GIB_NS,
                       memory_total_kib=4 * 1024 * 1024, memory_free_kib=2 * 1024 * 1024, running_domains=1),
    ]  # fmt: skip
    cpu, memory = host_series(samples)
    assert values(cpu) == [50.0], "busy 30 s of 60 s; pairs with a missing figure or no elapsed CPU time skipped"
    assert values(memory) == [3072.0, 2048.0, 2048.0]
    assert (cpu.unit, memory.unit) == ("%", "MiB")


# --- SVG ---


def test_svg_graph_is_well_formed_and_scaled():
    series = Series("CPU", "%", "cpu", points=[(at(0), 0.0), (at(1800), 50.0), (at(3600), 100.0)])
    svg = svg_graph(series, at(0), at(3600), ceiling=100.0)
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {WIDTH} {HEIGHT}"
    assert root.get("class") == "graph graph-cpu"
    assert root.get("role") == "img"
    assert root.findtext(f"{SVG}title") == "CPU (%), last 60 minutes"
    assert root.findtext(f"{SVG}text") == "max 100.0 %"
    assert polyline_points(svg) == [
        (MARGIN, HEIGHT - MARGIN),
        (WIDTH / 2, HEIGHT / 2),
        (WIDTH - MARGIN, MARGIN),
    ]


def test_svg_graph_drops_points_before_the_window_and_clips_at_the_ceiling():
    series = Series("CPU", "%", "cpu", points=[(at(-60), 10.0), (at(0), 150.0), (at(60), 20.0)])
    points = polyline_points(svg_graph(series, at(0), at(60), ceiling=100.0))
    assert len(points) == 2
    assert points[0] == (MARGIN, MARGIN), "150 % is drawn at the top, not above it"


def test_svg_graph_without_ceiling_scales_to_the_highest_point():
    series = Series("Disk read", "KiB/s", "read", points=[(at(0), 5.0), (at(60), 20.0)])
    svg = svg_graph(series, at(0), at(60))
    assert parse(svg).findtext(f"{SVG}text") == "max 20.0 KiB/s"
    assert polyline_points(svg)[1][1] == MARGIN


@pytest.mark.parametrize("points", [[], [(at(0), 0.0), (at(60), 0.0)]], ids=["empty", "all-zero"])
def test_svg_graph_of_empty_or_flat_series(points):
    svg = svg_graph(Series("Network in", "KiB/s", "rx", points=points), at(0), at(60))
    root = parse(svg)
    assert root.findtext(f"{SVG}text") == "max 1.0 KiB/s"
    assert "nan" not in svg.lower()
    if points:
        assert all(y == HEIGHT - MARGIN for _, y in polyline_points(svg))
    else:
        assert root.find(f"{SVG}polyline") is None
        assert root.find(f"{SVG}rect") is not None, "an empty frame is still drawn"


def test_svg_graph_of_a_zero_length_window_does_not_divide_by_zero():
    svg = svg_graph(Series("CPU", "%", "cpu", points=[(at(0), 5.0)]), at(0), at(0), ceiling=100.0)
    assert polyline_points(svg) == [(MARGIN, HEIGHT - MARGIN - (HEIGHT - 2 * MARGIN) * 0.05)]


def test_svg_graph_escapes_what_it_is_given():
    nasty = Series('<script>alert(1)</script>"]]>', "&<b>", 'x" onload="alert(1)', points=[(at(0), 1.0)])
    svg = svg_graph(nasty, at(0), at(60))
    root = parse(svg)  # still one well-formed document
    tags = {element.tag for element in root.iter()}
    assert tags == {f"{SVG}svg", f"{SVG}title", f"{SVG}rect", f"{SVG}polyline", f"{SVG}text"}
    assert all("onload" not in element.attrib for element in root.iter())
    assert root.get("class") == 'graph graph-x" onload="alert(1)'
    assert root.findtext(f"{SVG}title").startswith('<script>alert(1)</script>"]]> (&<b>)')
    assert "<script" not in svg
    assert "<b>" not in svg


def test_svg_graphs_draws_percentages_out_of_100():
    end = at(3600)
    series = [Series("CPU", "%", "cpu", points=[(at(3000), 10.0)]), Series("Mem", "MiB", "memory", [(at(3000), 10.0)])]
    (cpu, cpu_svg), (memory, memory_svg) = svg_graphs(series, end, timedelta(hours=1))
    assert (cpu, memory) == tuple(series)
    assert parse(cpu_svg).findtext(f"{SVG}text") == "max 100.0 %"
    assert parse(memory_svg).findtext(f"{SVG}text") == "max 10.0 MiB"
