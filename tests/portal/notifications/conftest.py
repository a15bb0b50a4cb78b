"""Fixtures of the notification tests: a real SMTP server, tasks run eagerly, people with addresses."""

import pytest

from tests.support.smtp import eager_tasks, refusing_smtp_server, smtp_down, smtp_server  # noqa: F401


@pytest.fixture
def with_addresses(member, staff):
    """The member and the administrator have e-mail addresses (the factories give none)."""
    for user, address in ((member, "member@example.org"), (staff, "admin@example.org")):
        user.email = address
        user.save(update_fields=["email"])
