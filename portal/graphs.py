"""Load graphs drawn on the server: rates from neighbouring samples, as a small SVG (any kind of resource).

Samples hold cumulative counters (see ``VMStatSample``); a rate is the change
between two samples over the time between them. A counter that went down (the
guest restarted) starts a new line segment instead of a negative rate.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

#: Drawing size in SVG user units; the page scales it to the card's width.
WIDTH, HEIGHT, MARGIN = 600, 120, 4


@dataclass
class Series:
    """One line of a graph."""

    label: str
    unit: str
    css_class: str
    points: list[tuple[datetime, float]] = field(default_factory=list)

    @property
    def last(self) -> float | None:
        return self.points[-1][1] if self.points else None


def rate_series(
    samples: Sequence[Any],
    counter: Callable[[Any], int | None],
    scale: Callable[[float, Any], float],
    series: Series,
) -> Series:
    """Fill ``series`` with the rate of ``counter`` between neighbouring samples, scaled per sample."""
    for before, after in pairwise(samples):
        seconds = (after.taken_at - before.taken_at).total_seconds()
        first, second = counter(before), counter(after)
        if seconds <= 0 or first is None or second is None or second < first:
            continue
        series.points.append((after.taken_at, scale((second - first) / seconds, after)))
    return series


def gauge_series(samples: Sequence[Any], value: Callable[[Any], float | None], series: Series) -> Series:
    """Fill ``series`` with a value read from each sample (memory in use...)."""
    series.points = [(s.taken_at, v) for s in samples if (v := value(s)) is not None]
    return series


def svg_graph(series: Series, start: datetime, end: datetime, ceiling: float | None = None) -> str:
    """One series as an SVG line graph from ``start`` to ``end``; the top is ``ceiling`` or the highest point."""
    top = ceiling or max((value for _, value in series.points), default=0.0) or 1.0
    span = max((end - start).total_seconds(), 1.0)
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "class": f"graph graph-{series.css_class}",
            "role": "img",
        },
    )
    ET.SubElement(svg, "title").text = f"{series.label} ({series.unit}), last {int(span // 60)} minutes"
    ET.SubElement(svg, "rect", {"x": "0", "y": "0", "width": str(WIDTH), "height": str(HEIGHT), "class": "frame"})
    coordinates = [
        (
            MARGIN + (WIDTH - 2 * MARGIN) * (moment - start).total_seconds() / span,
            HEIGHT - MARGIN - (HEIGHT - 2 * MARGIN) * min(value, top) / top,
        )
        for moment, value in series.points
        if moment >= start
    ]
    if coordinates:
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
        ET.SubElement(svg, "polyline", {"points": points, "class": "line"})
    label = ET.SubElement(svg, "text", {"x": str(MARGIN + 2), "y": "14", "class": "label"})
    label.text = f"max {top:.1f} {series.unit}"
    return ET.tostring(svg, encoding="unicode")


def svg_graphs(series: Sequence[Series], end: datetime, window: timedelta) -> list[tuple[Series, str]]:
    """Each series with its graph over ``window`` up to ``end``; percentages are drawn out of 100."""
    return [(s, svg_graph(s, end - window, end, ceiling=100.0 if s.unit == "%" else None)) for s in series]


#: The windows a history chart offers: query value -> (span, button label).
HISTORY_WINDOWS: dict[str, tuple[timedelta, str]] = {
    "1h": (timedelta(hours=1), "1 hour"),
    "24h": (timedelta(hours=24), "24 hours"),
    "7d": (timedelta(days=7), "7 days"),
    "90d": (timedelta(days=90), "90 days"),
}


def history_window_choices() -> list[tuple[str, str]]:
    """The window buttons of a history chart: (query value, label)."""
    return [(name, label) for name, (_, label) in HISTORY_WINDOWS.items()]


def series_payload(series: Sequence[Series], start: datetime, end: datetime) -> dict[str, Any]:
    """Series as one JSON document for the charts: a shared time axis (Unix seconds) and a column per series.

    A series with no point at a moment has ``null`` there, which a chart draws as a gap.
    """
    moments = sorted({moment for line in series for moment, _ in line.points})
    index = {moment: position for position, moment in enumerate(moments)}
    columns: list[list[float | None]] = []
    for line in series:
        column: list[float | None] = [None] * len(moments)
        for moment, value in line.points:
            column[index[moment]] = round(value, 3)
        columns.append(column)
    return {
        "start": int(start.timestamp()),
        "end": int(end.timestamp()),
        "series": [{"label": line.label, "unit": line.unit, "key": line.css_class} for line in series],
        "data": [[int(moment.timestamp()) for moment in moments], *columns],
    }
