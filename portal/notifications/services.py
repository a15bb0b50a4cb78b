"""Writes of notifications: tell people, send the e-mail, mark as read, choose e-mail categories."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import current_app as celery_app
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.notifications.categories import NotificationCategory
from portal.notifications.models import EmailOptOut, Notification

logger = logging.getLogger(__name__)

#: The Celery task that sends one notification's e-mail (in ``portal.tasks``).
EMAIL_TASK = "portal.tasks.notification_email_send"

#: Longest subject kept (the column's length).
SUBJECT_LIMIT = 200
#: Longest link kept (the column's length); a longer one is dropped rather than cut into a wrong address.
URL_LIMIT = 500


def one_line(text: str) -> str:
    """A subject on one line: a line break in an e-mail header is refused by the mail library (header injection)."""
    return " ".join(text.split())[:SUBJECT_LIMIT]


def notify(*, users: Iterable[User], category: str, subject: str, body: str = "", url: str = "") -> list[Notification]:
    """Tell each of ``users`` (once each, inactive users skipped) in the portal, and queue the e-mails.

    Call it inside the transaction of the event: the rows commit with it, and the
    e-mails are queued only after that commit, so a rolled-back event sends nothing.
    """
    category = NotificationCategory(category)
    recipients = {user.pk: user for user in users if user.is_active}
    if not recipients:
        return []
    link = url if len(url) <= URL_LIMIT else ""
    rows = Notification.objects.bulk_create(
        Notification(user_id=user_id, category=category, subject=one_line(subject), body=body, url=link)
        for user_id in recipients
    )
    opted_out = set(
        EmailOptOut.objects.filter(user_id__in=recipients, category=category).values_list("user_id", flat=True)
    )
    to_mail = [row.pk for row in rows if recipients[row.user_id].email and row.user_id not in opted_out]
    if to_mail:
        # Robust: the event has committed by then; a broker that does not answer must not turn it into an error
        # page. The row stays, unsent (``emailed_at`` empty), and the failure is logged.
        transaction.on_commit(lambda: _queue_emails(to_mail), robust=True)
    return rows


def _queue_emails(notification_ids: list[int]) -> None:
    task = celery_app.tasks[EMAIL_TASK]
    for notification_id in notification_ids:
        task.apply_async(args=(notification_id,))


def absolute_link(path: str) -> str:
    """A link for an e-mail: the portal's public address (``PORTAL_BASE_URL``) plus the path."""
    if not path or path.startswith(("http://", "https://")):
        return path
    return settings.PORTAL_BASE_URL.rstrip("/") + "/" + path.lstrip("/")


def email_text(row: Notification) -> str:
    """The e-mail's body: the notification, its link, and where to turn these e-mails off."""
    footer = (
        f"You get e-mails of \u201c{NotificationCategory(row.category).label}\u201d; "
        f"choose which on your profile: {absolute_link(reverse('profile'))}"
    )
    return "\n\n".join(part for part in (row.body, absolute_link(row.url), "--", footer) if part)


def notification_email_send(notification_id: int) -> bool:
    """Send one notification's e-mail; True when sent now. Safe to run twice: a sent one is not sent again.

    The row stays locked while the mail server answers (``EMAIL_TIMEOUT`` bounds it), so two
    deliveries of the task cannot both send. A mail server that fails raises, so the task
    retries; the row is only marked once the server accepted the message.
    """
    with transaction.atomic():
        row = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if row is None or not row.user.email or not row.user.is_active:
            return False
        send_mail(row.subject, email_text(row), None, [row.user.email])
        row.emailed_at = timezone.now()
        row.save(update_fields=["emailed_at"])
    logger.info("notification %s e-mailed", notification_id)
    return True


def notifications_mark_read(*, user: User | AnonymousUser, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's own notifications as read (all unread ones when no ids are given); returns how many.

    Ids of other people's notifications match nothing: nobody marks another's as read.
    """
    if not user.is_authenticated:
        return 0
    unread = Notification.objects.filter(user_id=user.pk, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())


def email_categories_set(*, user: User, enabled: Iterable[str]) -> None:
    """Keep e-mail on for the ``enabled`` categories only; the others become opt-outs.

    Raises ``ValueError`` for a value that is no category (forms offer only the real ones).
    """
    enabled_set = {NotificationCategory(value) for value in enabled}
    with transaction.atomic():
        EmailOptOut.objects.filter(user=user).delete()
        EmailOptOut.objects.bulk_create(
            EmailOptOut(user=user, category=category)
            for category in NotificationCategory
            if category not in enabled_set
        )
