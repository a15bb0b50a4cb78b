"""Scraping ``/metrics`` in tests: the token, the request, and the exposition parsed as Prometheus would."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

#: The bearer token the ``metrics_token`` fixture configures.
TOKEN = "test-metrics-token-0123456789abcdef"


@pytest.fixture
def metrics_token(settings) -> str:
    """Metrics switched on, with a known token."""
    settings.PORTAL_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client: Any, token: str = TOKEN) -> dict[str, Any]:
    """GET /metrics with the token; the families by name, parsed with prometheus_client's own parser."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"].startswith("text/plain; version=")
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def samples_of(families: dict[str, Any], family: str, sample: str | None = None) -> dict[tuple, float]:
    """The samples of one family (``sample`` picks e.g. a counter's ``_total``) as {sorted labels: value}."""
    wanted = sample or family
    return {
        tuple(sorted(item.labels.items())): item.value
        for item in families.get(family, _Empty()).samples
        if item.name == wanted
    }


def labels(**values: str) -> tuple:
    """A label set as ``samples_of`` keys it."""
    return tuple(sorted(values.items()))


class _Empty:
    samples: list[Any] = []
