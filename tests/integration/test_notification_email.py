"""Notification e-mail through the real stack: PostgreSQL, Redis, a real Celery worker and a real SMTP server.

A decision on an ask reaches the asker's mailbox with an absolute link; a mail server that
refuses leaves the row in place while the worker schedules the task again.
"""

from __future__ import annotations

import re

import pytest

from portal.notifications.models import Notification
from portal.services import request_reject
from tests.factories import ResourceRequestFactory, UserFactory
from tests.support.stack import wait_until

pytestmark = [pytest.mark.integration]


@pytest.fixture
def worker_mails_there(settings, monkeypatch):
    """The worker reads its settings from the environment: send its e-mail where the test's server listens."""
    for name in ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_TIMEOUT", "PORTAL_BASE_URL"):
        monkeypatch.setenv(name, str(getattr(settings, name)))


def reject_an_ask(team, asker):
    asker.email = "alice@example.org"
    asker.save(update_fields=["email"])
    admin = UserFactory(username="decider", is_staff=True, is_superuser=True)
    ask = ResourceRequestFactory(team=team, requested_by=asker, name="web")
    request_reject(actor=admin, request_id=ask.pk, reason="Use the shared runner")
    return ask


def test_a_rejection_reaches_the_askers_mailbox_through_the_worker(
    smtp_server, worker_mails_there, live_team, live_member, celery_worker_process
):
    ask = reject_an_ask(live_team, live_member)
    wait_until(lambda: smtp_server.messages, 60, f"the e-mail; worker log:\n{celery_worker_process.log()}")
    [message] = smtp_server.messages
    assert smtp_server.recipients == [["alice@example.org"]]
    assert message["Subject"] == "Request rejected: virtual machine web"
    body = message.get_content()
    assert "Reason: Use the shared runner" in body
    assert f"https://portal.example.org/requests/?mine=1#request-{ask.pk}" in body
    wait_until(lambda: Notification.objects.filter(emailed_at__isnull=False).exists(), 30, "the row marked e-mailed")


def test_a_refusing_mail_server_is_tried_again_by_the_worker(
    refusing_smtp_server, worker_mails_there, live_team, live_member, celery_worker_process
):
    reject_an_ask(live_team, live_member)
    retried = re.compile(r"notification_email_send\[[0-9a-f-]+\] retry: Retry in \d+s")
    wait_until(lambda: retried.search(celery_worker_process.log()), 60, "the worker to schedule a retry")
    assert refusing_smtp_server.refused >= 1 and refusing_smtp_server.messages == []
    row = Notification.objects.get()
    assert row.user == live_member and row.emailed_at is None
