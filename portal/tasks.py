"""Celery tasks of the base: thin, take ids, call a service."""

from __future__ import annotations

from smtplib import SMTPException
from typing import Any

from celery import Task, shared_task

from portal.history import history_compact as compact
from portal.leases.scan import lease_scan
from portal.notifications.services import notification_email_send as send_one


@shared_task(
    bind=True,
    name="portal.tasks.notification_email_send",
    autoretry_for=(SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=10,
)
def notification_email_send(self: Task[Any, Any], notification_id: int) -> None:
    """E-mail one notification; a mail server that fails is tried again later (the row is kept)."""
    send_one(notification_id)


@shared_task(name="portal.tasks.history_compact")
def history_compact() -> dict[str, int]:
    """Roll up and expire load samples of every kind (a beat task, every 5 minutes)."""
    return compact()


@shared_task(name="portal.tasks.leases_scan")
def leases_scan() -> None:
    """Beat: remind, stop and delete what leases say is due (safe when two runs overlap)."""
    lease_scan()
