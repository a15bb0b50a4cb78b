"""Container output kept in Redis, as tests see it: a database of their own, cleaned after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from containers.containers import logs
from tests.support.stack import require

#: Redis database the tests keep container output in (keys are per container pk).
LOGS_REDIS_URL = "redis://127.0.0.1:6379/14"


class LogStore:
    """The tests' view of the kept container output; the keys of tracked containers are deleted afterwards."""

    def __init__(self, client: redis.Redis):
        self.client = client
        self.pks: set[int] = set()

    def track(self, pk: int) -> int:
        self.pks.add(pk)
        self.client.delete(logs._key(pk), logs._follower_key(pk))
        return pk

    def lines(self, pk: int) -> list[str]:
        return list(self.client.lrange(logs._key(pk), 0, -1))  # type: ignore[arg-type]

    def follower(self, pk: int) -> bool:
        return bool(self.client.exists(logs._follower_key(pk)))


@pytest.fixture
def log_store(settings) -> Iterator[LogStore]:
    """Container output in a Redis database of the tests; needs Redis (pages read the kept output)."""
    settings.REDIS_URL = LOGS_REDIS_URL
    client = redis.Redis.from_url(LOGS_REDIS_URL, decode_responses=True, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError:
        require(False, "needs Redis on 127.0.0.1:6379")
    store = LogStore(client)
    try:
        yield store
    finally:
        for pk in store.pks:
            client.delete(logs._key(pk), logs._follower_key(pk))
        client.close()
