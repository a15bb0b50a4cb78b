"""A real SMTP server for tests (aiosmtpd on 127.0.0.1), and the settings that send the portal's e-mail to it.

``smtp_server`` accepts every message into an inbox; ``refusing_smtp_server`` answers every
recipient with a temporary refusal (451), as a mail server under load does; ``smtp_down`` is
a port where nothing listens. Each points Django's SMTP backend at itself for the test.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from celery import current_app

from tests.support.docker_engine import free_port


@dataclass
class Inbox:
    """What the server received: one entry per message, with its envelope and parsed content."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    refused: int = 0
    refuse: bool = False

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse:
            self.refused += 1
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


def point_email_at(settings: Any, port: int) -> None:
    """Django's SMTP backend, plain and without login, to 127.0.0.1:``port``; short timeout."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.PORTAL_BASE_URL = "https://portal.example.org"


def _serve(settings: Any, inbox: Inbox) -> Iterator[Inbox]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    point_email_at(settings, port)
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_server(settings) -> Iterator[Inbox]:
    """A mail server that accepts everything; the test reads its inbox."""
    yield from _serve(settings, Inbox())


@pytest.fixture
def refusing_smtp_server(settings) -> Iterator[Inbox]:
    """A mail server that answers every recipient "451 try again later"; it counts the attempts."""
    yield from _serve(settings, Inbox(refuse=True))


@pytest.fixture
def smtp_down(settings) -> int:
    """A port where no mail server listens (connections are refused)."""
    port = free_port()
    point_email_at(settings, port)
    return port


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Tasks sent after commit run at once in the test's process (retries too, without their wait)."""
    conf = current_app.conf
    before = conf.task_always_eager
    conf.task_always_eager = True
    try:
        yield
    finally:
        conf.task_always_eager = before
