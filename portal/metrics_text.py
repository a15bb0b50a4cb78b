"""The Prometheus text format (0.0.4), written as ``prometheus_client.generate_latest`` writes it, only faster.

A scrape of ten thousand VMs holds about a hundred thousand samples. ``generate_latest``
validates and escapes every label name of every sample, and that formatting costs more than
all the queries together. Here each distinct set of label names is escaped once, a label value
is escaped only when it holds a character that needs it, and a whole number skips the float
formatting. The output is byte for byte the library's (``tests/portal/test_metrics_text.py``
holds the two side by side).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from prometheus_client.core import Metric
from prometheus_client.openmetrics.exposition import escape_label_name, escape_metric_name
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

#: Samples that only OpenMetrics has; the text format moves them to a gauge family of their own at the end.
OPENMETRICS_SUFFIXES = ("_created", "_gsum", "_gcount")
#: How the text format calls the types OpenMetrics has and it has not (and the name suffix it adds).
TYPE_MUNGING = {
    "counter": ("_total", "counter"),
    "info": ("_info", "gauge"),
    "stateset": ("", "gauge"),
    "gaugehistogram": ("", "histogram"),
    "unknown": ("", "untyped"),
}


@cache
def _label_names(names: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    """Positions of the names in sorted order, each escaped; once per distinct set of names."""
    return tuple((index, escape_label_name(names[index])) for index in sorted(range(len(names)), key=names.__getitem__))


@cache
def _metric_name(name: str) -> str:
    return escape_metric_name(name)


def _label_value(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def _number(value: float) -> str:
    if type(value) is int and -(10**15) < value < 10**6:
        return f"{value}.0"  # what floatToGoString writes for a whole number short of its exponent forms
    return floatToGoString(value)


def _sample_line(sample: Sample) -> str:
    name = _metric_name(sample.name)
    timestamp = "" if sample.timestamp is None else f" {int(float(sample.timestamp) * 1000):d}"
    if not sample.labels:
        return f"{name} {_number(sample.value)}{timestamp}\n"
    values = tuple(sample.labels.values())
    labels = ",".join(f'{escaped}="{_label_value(values[i])}"' for i, escaped in _label_names(tuple(sample.labels)))
    return f"{name}{{{labels}}} {_number(sample.value)}{timestamp}\n"


def _help(name: str, documentation: str) -> str:
    escaped = documentation.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {_metric_name(name)} {escaped}\n"


def text_format(families: Iterable[Metric]) -> bytes:
    """The families in the Prometheus text format, exactly as ``generate_latest`` would write them."""
    output: list[str] = []
    for metric in families:
        suffix, kind = TYPE_MUNGING.get(metric.type, ("", metric.type))
        name = metric.name + suffix
        output.append(_help(name, metric.documentation))
        output.append(f"# TYPE {_metric_name(name)} {kind}\n")
        moved: dict[str, list[str]] = {}
        for sample in metric.samples:
            for om_suffix in OPENMETRICS_SUFFIXES:
                if sample.name == metric.name + om_suffix:
                    moved.setdefault(om_suffix, []).append(_sample_line(sample))
                    break
            else:
                output.append(_sample_line(sample))
        for om_suffix, lines in sorted(moved.items()):
            output.append(_help(metric.name + om_suffix, metric.documentation))
            output.append(f"# TYPE {_metric_name(metric.name + om_suffix)} gauge\n")
            output.extend(lines)
    return "".join(output).encode("utf-8")
