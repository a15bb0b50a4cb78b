"""Depth of the Celery queues, read from the broker: the only family not read from the database.

With the Redis broker a queue is a Redis list named after it (plus one list per priority step
when tasks carry a priority), so its depth is ``LLEN``: one pipelined round trip for every
queue. A broker that does not answer within a short timeout leaves the queue family out and
says so in ``portal_celery_broker_up``; the scrape itself still succeeds.

Label set: ``queue`` (the default queue, the routed ones, each host's own queue).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import redis
from django.conf import settings
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from portal.metrics import registered_queue_names

logger = logging.getLogger(__name__)

#: Seconds to wait for the broker: a scrape must answer well within Prometheus' own timeout.
BROKER_TIMEOUT_SECONDS = 0.5
#: kombu's Redis transport keeps a message with priority N (N > 0) in ``<queue>\x06\x16<N>``;
#: the default priority steps are 0, 3, 6, 9 (0 is the plain list).
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)


def known_queues() -> list[str]:
    """The default queue, the queues tasks are routed to, and the ones the apps register; sorted, once each."""
    names = {getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery") or "celery"}
    for route in getattr(settings, "CELERY_TASK_ROUTES", {}).values():
        if isinstance(route, dict) and route.get("queue"):
            names.add(route["queue"])
    names.update(registered_queue_names())
    return sorted(names)


def queue_lengths(broker_url: str, queues: list[str]) -> dict[str, int] | None:
    """Messages waiting in each queue; None when the broker is not Redis or does not answer."""
    if not broker_url.startswith(("redis://", "rediss://", "unix://")):
        return None
    client = redis.Redis.from_url(
        broker_url, socket_connect_timeout=BROKER_TIMEOUT_SECONDS, socket_timeout=BROKER_TIMEOUT_SECONDS
    )
    keys = [
        (queue, f"{queue}{PRIORITY_SEPARATOR}{step}" if step else queue)
        for queue in queues
        for step in (0, *PRIORITY_STEPS)
    ]
    try:
        pipeline = client.pipeline(transaction=False)
        for _queue, key in keys:
            pipeline.llen(key)
        lengths = pipeline.execute()
    except (redis.RedisError, OSError) as error:
        # The URL may hold a password: only the kind of error is logged.
        logger.warning("Celery broker did not answer for metrics: %s", type(error).__name__)
        return None
    finally:
        client.close()
    depth = dict.fromkeys(queues, 0)
    for (queue, _key), length in zip(keys, lengths, strict=True):
        depth[queue] += int(length)
    return depth


class QueueCollector(Collector):
    """Whether the broker answered, and the depth of each known queue when it did."""

    def collect(self) -> Iterator[Metric]:
        depth = queue_lengths(settings.CELERY_BROKER_URL, known_queues())
        up = GaugeMetricFamily("portal_celery_broker_up", "Whether the Celery broker answered this scrape (1) or not.")
        up.add_metric([], 0 if depth is None else 1)
        yield up
        if depth is None:
            return
        family = GaugeMetricFamily("portal_celery_queue_length", "Tasks waiting in a Celery queue.", labels=["queue"])
        for queue, length in depth.items():
            family.add_metric([queue], length)
        yield family
