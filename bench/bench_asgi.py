"""Pages on the ASGI path against Django's WSGI handler: what serving pages and consoles on one origin costs.

Run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/bench_asgi.py

It works in its own throwaway database (``portal_bench_asgi``), dropped at the end. The dashboard
and the VM list of a team with 1,000 VMs (seeded as ``bench_pages.py`` does) are loaded three ways,
interleaved so that the machine's load falls on all three alike:

- ``wsgi``: Django's WSGI handler in process (``django.test.Client``): the page's own cost;
- ``asgi``: the project's ASGI application (``config.asgi``: Channels' router, then Django's ASGI
  handler, which runs the sync views in a thread) called in process;
- ``uvicorn``: a real uvicorn process serving ``config.asgi`` on 127.0.0.1, over one keep-alive
  HTTP connection: what a browser gets, the HTTP parsing and the socket included.

It prints medians and each path's ratio to ``wsgi``; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from common import ROOT, bench_database, django_setup, ms, versions

BENCH_DB = "portal_bench_asgi"
URLS = ("/", "/vms/")
PATHS = ("wsgi", "asgi", "uvicorn")
#: Seconds uvicorn gets to start answering.
SERVER_START_SECONDS = 60


def asgi_get(application: Any, path: str, cookie: str) -> tuple[int, bytes]:
    """One GET through an ASGI application in process, as a server would call it."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    status, body = 0, []
    sent_request = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client never goes away; the handler cancels this when done
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    asyncio.run(application(scope, receive, send))
    return status, b"".join(body)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def uvicorn_start(bench_url: str, port: int) -> subprocess.Popen[bytes]:
    """uvicorn serving the project's ASGI application on the bench database, as the Procfile runs it."""
    env = {**os.environ, "DATABASE_URL": bench_url, "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("uvicorn did not start")


def measure(load: Callable[[], int], runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        assert load() == 200
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        status = load()
        times.append(ms(time.perf_counter() - start))
        assert status == 200, status
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed loads per page and path, in rounds")
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    with bench_database(BENCH_DB) as bench_url:
        django_setup(bench_url)
        from bench_pages import VM_ROWS, seed_team
        from django.test import Client

        from config.asgi import application

        print(versions(BENCH_DB))
        member = seed_team(slug="bench-asgi", username="bench-asgi", vms=VM_ROWS, requests=200, jobs=300)
        client = Client()
        client.force_login(member)
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        port = free_port()
        server = uvicorn_start(bench_url, port)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def over_http(url: str) -> int:
            connection.request("GET", url, headers={"Host": "127.0.0.1", "Cookie": cookie})
            response = connection.getresponse()
            response.read()
            return response.status

        loads: dict[str, Callable[[str], int]] = {
            "wsgi": lambda url: client.get(url).status_code,
            "asgi": lambda url: asgi_get(application, url, cookie)[0],
            "uvicorn": over_http,
        }
        times: dict[tuple[str, str], list[float]] = {(url, path): [] for url in URLS for path in PATHS}
        try:
            for url in URLS:
                for path in PATHS:
                    measure(lambda: loads[path](url), 0, args.warmup)  # noqa: B023 - called at once
            for _ in range(args.runs):  # rounds: each path loads each page once per round
                for url in URLS:
                    for path in PATHS:
                        times[(url, path)] += measure(lambda: loads[path](url), 1, 0)  # noqa: B023
        finally:
            connection.close()
            server.terminate()
            server.wait(timeout=30)
        print(f"\n{VM_ROWS} VMs in the team; {args.runs} loads of each page on each path, interleaved")
        print(f"{'page':<7} {'path':<8} {'median':>9} {'p90':>9} {'x wsgi':>7}")
        for url in URLS:
            base = statistics.median(times[(url, "wsgi")])
            for path in PATHS:
                values = times[(url, path)]
                median, p90 = statistics.median(values), statistics.quantiles(values, n=10)[-1]
                print(f"{url:<7} {path:<8} {median:>7.1f}ms {p90:>7.1f}ms {median / base:>6.2f}x")


if __name__ == "__main__":
    main()
