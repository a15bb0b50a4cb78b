"""Writes of notifications: tell people, send the e-mail, mark as read, choose e-mail categories."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import current_app as celery_app
from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from portal.notifications.categories import NotificationCategory
from portal.notifications.models import EmailOptOut, Notification

logger = logging.getLogger(__name__)

#: The Celery task that sends one notification's e-mail (in ``portal.tasks``).
EMAIL_TASK = "portal.tasks.notification_email_send"


def notify(*, users: Iterable[User], category: str, subject: str, body: str = "", url: str = "") -> list[Notification]:
    """Tell each of ``users`` (once each, inactive users skipped) in the portal, and queue the e-mails.

    Call it inside the transaction of the event: the rows commit with it, and the
    e-mails are queued only after that commit, so a rolled-back event sends nothing.
    """
    category = NotificationCategory(category)
    recipients = {user.pk: user for user in users if user.is_active}
    if not recipients:
        return []
    rows = Notification.objects.bulk_create(
        Notification(user_id=user_id, category=category, subject=subject[:200], body=body, url=url[:500])
        for user_id in recipients
    )
    opted_out = set(
        EmailOptOut.objects.filter(user_id__in=recipients, category=category).values_list("user_id", flat=True)
    )
    to_mail = [row.pk for row in rows if recipients[row.user_id].email and row.user_id not in opted_out]
    if to_mail:
        transaction.on_commit(lambda: [celery_app.send_task(EMAIL_TASK, args=[pk]) for pk in to_mail])
    return rows


def absolute_link(path: str) -> str:
    """A link for an e-mail: the portal's public address (``PORTAL_BASE_URL``) plus the path."""
    if not path or path.startswith(("http://", "https://")):
        return path
    return settings.PORTAL_BASE_URL.rstrip("/") + "/" + path.lstrip("/")


def notification_email_send(notification_id: int) -> bool:
    """Send one notification's e-mail; True when sent now. Safe to run twice: a sent one is not sent again.

    A mail server that fails raises, so the task retries; the row is only marked
    once the server accepted the message.
    """
    with transaction.atomic():
        row = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if row is None or not row.user.email:
            return False
        link = absolute_link(row.url)
        text = "\n\n".join(part for part in (row.body, link) if part)
        send_mail(row.subject, text, None, [row.user.email])
        row.emailed_at = timezone.now()
        row.save(update_fields=["emailed_at"])
    logger.info("notification %s e-mailed", notification_id)
    return True


def notifications_mark_read(*, user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's own notifications as read (all unread ones when no ids are given); returns how many."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())


def email_categories_set(*, user: User, enabled: Iterable[str]) -> None:
    """Keep e-mail on for the ``enabled`` categories only; the others become opt-outs."""
    enabled_set = {NotificationCategory(value) for value in enabled}
    with transaction.atomic():
        EmailOptOut.objects.filter(user=user).delete()
        EmailOptOut.objects.bulk_create(
            EmailOptOut(user=user, category=category)
            for category in NotificationCategory
            if category not in enabled_set
        )
