"""Load graphs of containers, from their samples (see ``portal.graphs``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from portal.graphs import Series, gauge_series


def container_series(samples: Sequence[Any]) -> list[Series]:
    """CPU (% of the container's limit) and memory in use: the engine reports both as gauges."""
    return [
        gauge_series(samples, lambda s: s.cpu_percent, Series("CPU (of its limit)", "%", "cpu")),
        gauge_series(
            samples,
            lambda s: s.memory_used_kib / 1024 if s.memory_used_kib is not None else None,
            Series("Memory in use", "MiB", "memory"),
        ),
    ]
