"""Calls are throttled per token and per user, answered 429 with Retry-After; counts live in Redis."""

import pytest

from portal.api.authentication import PerTokenThrottle, PerUserThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(monkeypatch):
    monkeypatch.setitem(PerTokenThrottle.THROTTLE_RATES, "token", "3/min")
    monkeypatch.setitem(PerUserThrottle.THROTTLE_RATES, "user", "5/min")


def test_a_token_over_its_rate_gets_429_with_retry_after(member, token_client, low_rates):
    client = token_client(member)
    codes = [client.get("/api/v1/teams/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get("/api/v1/teams/")
    assert int(response["Retry-After"]) > 0
    assert set(response.json()) == {"detail", "errors"}


def test_the_user_s_allowance_is_shared_by_their_tokens(member, token_client, low_rates):
    first, second = token_client(member), token_client(member)
    codes = [first.get("/api/v1/teams/").status_code for _ in range(3)]
    codes += [second.get("/api/v1/teams/").status_code for _ in range(3)]
    assert codes == [200, 200, 200, 200, 200, 429]


def test_the_project_counts_in_redis():
    """The tests count in memory (tests/support/api.py); the project's settings count in the shared Redis."""
    from config import settings as project_settings

    cache = project_settings.CACHES[project_settings.PORTAL_API_THROTTLE_CACHE]
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
