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


def _team_key(team_id: int) -> str:
    return f"portal:container-logs-team:{team_id}"


class TeamFollowsFull(Exception):
    """The team already follows as many containers' output as it may at once."""


def follow_claim(container_pk: int, team_id: int | None = None) -> bool:
    """Become the one follower of a container's output for ``FOLLOW_SECONDS``; False if one runs.

    Each follow holds a logs worker, so a team may follow only
    ``PORTAL_LOG_FOLLOWS_PER_TEAM`` containers at once: past that, raise
    :class:`TeamFollowsFull`. The team's follows are a sorted set scored by
    when each ends, so one whose worker died stops counting by itself.
    """
    client = _redis()
    if team_id is None:
        return bool(client.set(_follower_key(container_pk), "1", nx=True, ex=FOLLOW_SECONDS))
    now = time.time()
    team_key = _team_key(team_id)
    client.zremrangebyscore(team_key, "-inf", now)
    if client.exists(_follower_key(container_pk)):
        return False
    if int(client.zcard(team_key)) >= settings.PORTAL_LOG_FOLLOWS_PER_TEAM:
        raise TeamFollowsFull(
            f"Your team already follows the output of {settings.PORTAL_LOG_FOLLOWS_PER_TEAM} containers; "
            "wait until one of those ends."
        )
    if not client.set(_follower_key(container_pk), str(team_id), nx=True, ex=FOLLOW_SECONDS):
        return False
    client.zadd(team_key, {str(container_pk): now + FOLLOW_SECONDS})
    client.expire(team_key, FOLLOW_SECONDS)
    return True


def follow_until(container_pk: int) -> float | None:
    """Unix time the current follower stops, or None when nobody follows."""
    ttl = int(_redis().ttl(_follower_key(container_pk)))
    return time.time() + ttl if ttl > 0 else None


def follow_release(container_pk: int) -> None:
    """Stop counting as the follower (the copy ended), for the container and for its team."""
    client = _redis()
    team_id = client.get(_follower_key(container_pk))
    client.delete(_follower_key(container_pk))
    if team_id and str(team_id).isdigit():
        client.zrem(_team_key(int(str(team_id))), str(container_pk))
