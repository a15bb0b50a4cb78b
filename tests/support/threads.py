"""Running work in many threads released at once: how the concurrency tests race on PostgreSQL row locks."""

import threading

from django.db import connection


def run_at_once(work, count):
    """Run ``work(i)`` in ``count`` threads released together; return ({i: result}, {i: exception})."""
    barrier = threading.Barrier(count)
    results, errors = {}, {}

    def runner(i):
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
