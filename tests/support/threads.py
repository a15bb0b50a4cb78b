"""Many callers at once, each on its own database connection: how tests prove the row locks hold."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def run_at_once(work: Callable[[int], Any], count: int) -> tuple[dict[int, Any], dict[int, BaseException]]:
    """Run ``work(i)`` in ``count`` threads released together; return ({i: result}, {i: exception})."""
    barrier = threading.Barrier(count)
    results: dict[int, Any] = {}
    errors: dict[int, BaseException] = {}

    def runner(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as error:
            errors[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results, errors
