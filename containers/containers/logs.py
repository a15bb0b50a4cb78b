"""Container output kept in Redis, so pages show logs without ever calling the engine.

A worker task copies the last lines and then follows new ones for a while into
a capped Redis list; the page polls that list. Only one follower per container
runs at a time.
"""

from __future__ import annotations

import time

import redis
from django.conf import settings

#: Lines kept per container.
KEEP_LINES = 1000
#: How long one "follow" keeps copying new output, in seconds.
FOLLOW_SECONDS = 300


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


def _key(container_pk: int) -> str:
    return f"portal:container-logs:{container_pk}"


def _follower_key(container_pk: int) -> str:
    return f"portal:container-logs-follower:{container_pk}"


def logs_replace(container_pk: int, lines: list[str]) -> None:
    """Start the kept output afresh with these lines."""
    client = _redis()
    with client.pipeline() as pipe:
        pipe.delete(_key(container_pk))
        if lines:
            pipe.rpush(_key(container_pk), *lines[-KEEP_LINES:])
        pipe.expire(_key(container_pk), 24 * 3600)
        pipe.execute()


def logs_append(container_pk: int, lines: list[str]) -> None:
    """Add new lines, keeping only the last ``KEEP_LINES``."""
    if not lines:
        return
    client = _redis()
    with client.pipeline() as pipe:
        pipe.rpush(_key(container_pk), *lines)
        pipe.ltrim(_key(container_pk), -KEEP_LINES, -1)
        pipe.expire(_key(container_pk), 24 * 3600)
        pipe.execute()


def logs_read(container_pk: int, last: int = 200) -> list[str]:
    """The last lines kept for a container."""
    lines: list[str] = _redis().lrange(_key(container_pk), -last, -1)  # type: ignore[assignment]
    return lines


def follow_claim(container_pk: int) -> bool:
    """Become the one follower of a container's output for ``FOLLOW_SECONDS``; False if one runs."""
    return bool(_redis().set(_follower_key(container_pk), "1", nx=True, ex=FOLLOW_SECONDS))


def follow_until(container_pk: int) -> float | None:
    """Unix time the current follower stops, or None when nobody follows."""
    ttl = int(_redis().ttl(_follower_key(container_pk)))
    return time.time() + ttl if ttl > 0 else None


def follow_release(container_pk: int) -> None:
    """Stop counting as the follower (the copy ended)."""
    _redis().delete(_follower_key(container_pk))
