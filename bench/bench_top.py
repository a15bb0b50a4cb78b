"""Benchmark of one refresh of a top page at 1,000 domains, against the raw bulk statistics call alone.

Run from the repository root:

    .venv/bin/python bench/bench_top.py

A refresh is what a host's poller does every interval: the bulk call through the driver, the rows
with their rates against the previous reading, and the JSON pushed to the watchers. The raw side is
``getAllDomainStats`` with the driver's flags, straight through the libvirt SDK. Both run on libvirt's
in-process ``test:///default`` host, with 1,000 tiny domains defined and started on it; nothing else
is needed and nothing is kept. It prints the medians and their ratio (the aim is at most x1.5).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django

django.setup()
from hypervisors.drivers import driver_for  # noqa: E402
from hypervisors.drivers.libvirt_common import DOMAIN_STATS_FLAGS  # noqa: E402
from hypervisors.drivers.raw import libvirt_sdk as libvirt  # noqa: E402 - the SDK only from the drivers
from hypervisors.hosts.top_rows import host_read, top_rows  # noqa: E402

URI = "test:///default"
TARGET_RATIO = 1.5
DOMAIN_XML = (
    "<domain type='test'><name>top{i:04d}</name><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--uri", default=URI, help="another host to read as it is (no domain is defined on it)")
    options = parser.parse_args()

    # The test driver keeps its domains while a connection to it is open: this one holds them.
    keeper = libvirt.open(options.uri)
    if options.uri == URI:
        for i in range(options.domains):
            keeper.createXML(DOMAIN_XML.format(i=i), 0)
    total = len(keeper.listAllDomains(0))

    raw_times: list[float] = []
    driver_times: list[float] = []
    refresh_times: list[float] = []
    with driver_for(options.uri) as driver:
        previous = host_read(driver, taken_at=time.monotonic())  # a watch's first reading asks the sizes once
        for _ in range(options.runs):
            started = time.perf_counter()
            keeper.getAllDomainStats(DOMAIN_STATS_FLAGS, 0)
            raw_times.append(time.perf_counter() - started)

            started = time.perf_counter()
            driver.domains_stats(sizes_known=previous.sizes.keys())
            driver_times.append(time.perf_counter() - started)

            started = time.perf_counter()
            current = host_read(driver, taken_at=time.monotonic(), previous=previous)
            payload = json.dumps({"type": "rows", "host": 1, "rows": top_rows(previous, current)})
            refresh_times.append(time.perf_counter() - started)
            previous = current
    keeper.close()

    raw, refresh = median(raw_times), median(refresh_times)
    ratio = refresh / raw
    print(f"libvirt {libvirt.getVersion()}, {total} domains on {options.uri}, {options.runs} runs")
    print(f"{len(payload)} bytes of JSON a refresh")
    print(f"raw getAllDomainStats        median {raw * 1000:8.2f} ms")
    print(f"driver domains_stats alone   median {median(driver_times) * 1000:8.2f} ms (records as DomainStats)")
    print(f"refresh (bulk+rates+JSON)    median {refresh * 1000:8.2f} ms")
    verdict = "meets" if ratio <= TARGET_RATIO else "misses"
    print(f"ratio x{ratio:.2f} ({verdict} the target of x{TARGET_RATIO})")


if __name__ == "__main__":
    main()
