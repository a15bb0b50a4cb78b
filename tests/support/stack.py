"""Tests on the real stack: services they need, waiting for them, and the team they act as.

A test that needs a real service (PostgreSQL, Redis, qemu:///system, Docker)
calls ``require``: locally a missing service skips the test with the reason;
under CI (``CI`` set) it fails it, so a green CI run always means it ran.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import libvirt
import pytest
from django.db import connection

from portal.choices import Role
from portal.models import Team
from tests.factories import MembershipFactory, TeamFactory, UserFactory

#: The project's root directory (where manage.py is).
ROOT = Path(__file__).resolve().parent.parent.parent


def require(available: bool, reason: str) -> None:
    """Skip (locally) or fail (in CI) when a real service a test needs is missing."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run this test)")
    pytest.skip(reason)


def require_postgresql() -> None:
    require(connection.vendor == "postgresql", "needs PostgreSQL (set DATABASE_URL)")


def redis_available() -> bool:
    import redis
    from django.conf import settings

    try:
        return bool(redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def libvirt_system_available() -> bool:
    try:
        libvirt.open("qemu:///system").close()
    except libvirt.libvirtError:
        return False
    return True


def database_url_for_subprocess() -> str:
    """The URL of the database the tests run on, for processes the tests start."""
    settings = connection.settings_dict
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.5) -> None:
    """Poll ``condition`` until true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def live_team(transactional_db) -> Team:
    """A team with a unique slug, so its domain names never meet leftovers of another run."""
    slug = f"it{uuid.uuid4().hex[:8]}"
    team = TeamFactory(name=slug, slug=slug)
    team.quota.vcpus, team.quota.memory_mib = Decimal("4"), 1024
    team.quota.save()
    return team


@pytest.fixture
def live_member(live_team):
    user = UserFactory(username="alice")
    MembershipFactory(user=user, team=live_team, role=Role.MEMBER)
    return user
