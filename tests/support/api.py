"""Helpers of the API tests: clients that authenticate with a token or a session, and the throttle cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from portal.api.tokens import token_create


@pytest.fixture(autouse=True)
def api_throttle_cache(settings) -> Iterator[None]:
    """Throttle counts in this process's memory, fresh for every test (production shares them in Redis)."""
    settings.CACHES = {
        **settings.CACHES,
        settings.PORTAL_API_THROTTLE_CACHE: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    caches[settings.PORTAL_API_THROTTLE_CACHE].clear()
    yield
    caches[settings.PORTAL_API_THROTTLE_CACHE].clear()


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def token_client() -> Callable[..., APIClient]:
    """A client that sends a fresh token of ``user`` (``read_only=``, ``teams=``, ``expires_at=`` as the form has)."""

    def make(user: Any, **options: Any) -> APIClient:
        _, secret = token_create(actor=user, name="test", **options)
        return bearer(secret)

    return make


@pytest.fixture
def session_client() -> Callable[[Any], APIClient]:
    """A client logged in with a session, CSRF checked as in a browser."""

    def make(user: Any) -> APIClient:
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(user)
        return client

    return make


def errors_of(response: Any) -> dict[str, list[str]]:
    """The field errors of an error answer, after checking it has the API's one shape."""
    body = response.json()
    assert set(body) == {"detail", "errors"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body["errors"]
