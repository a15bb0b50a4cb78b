"""A storage pool's fill as pages draw it: the dashboard's quota bar, and a warning past the configured share."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

from hypervisors.models import StoragePool
from portal.amounts import Resource
from portal.quotas import QuotaBar

GIB = Decimal(1024**3)


def pool_bar(pool: StoragePool) -> QuotaBar:
    """A pool's fill as the bar the dashboard draws for a quota: allocated out of capacity, in GiB."""

    def gib(value: int) -> Decimal:
        return (Decimal(value) / GIB).quantize(Decimal("0.1"))

    return QuotaBar(
        resource=Resource(field=pool.name, label=pool.name, unit="GiB"),
        limit=gib(pool.capacity),
        used=gib(pool.allocation),
        pending=Decimal(0),
        free=gib(pool.available),
    )


def pool_panels(pools: list[StoragePool]) -> list[dict[str, Any]]:
    """What a page shows of each pool: the row, its bar, and whether it is past the warning fill."""
    return [
        {
            "pool": pool,
            "bars": [pool_bar(pool)],
            "percent": round(pool.fill * 100),
            "warn": pool.fill > settings.PORTAL_POOL_FILL_WARN,
        }
        for pool in pools
    ]
