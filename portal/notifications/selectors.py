"""Reads of notifications: always the asking user's own."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet

from portal.notifications.categories import NotificationCategory
from portal.notifications.models import EmailOptOut, Notification


def notifications_for(user: User) -> QuerySet[Notification]:
    """The user's notifications, newest first."""
    return Notification.objects.filter(user=user)


def unread_count(user: User) -> int:
    """How many of the user's notifications are unread (one indexed count)."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def email_categories_of(user: User) -> list[str]:
    """The categories the user still gets e-mails of."""
    off = set(EmailOptOut.objects.filter(user=user).values_list("category", flat=True))
    return [category.value for category in NotificationCategory if category.value not in off]
