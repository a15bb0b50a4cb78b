"""Fixtures of the API tests (shared in tests/support/api.py)."""

from tests.support.api import api_throttle_cache, session_client, token_client  # noqa: F401 (fixtures)
