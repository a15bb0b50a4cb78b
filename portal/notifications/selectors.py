"""Reads of notifications: always the asking user's own."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from portal.notifications.categories import NotificationCategory
from portal.notifications.models import EmailOptOut, Notification

AnyUser = User | AnonymousUser


def notifications_for(user: AnyUser) -> QuerySet[Notification]:
    """The user's notifications, newest first; nobody else's, and none for anonymous visitors."""
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(user_id=user.pk)


def notification_get(user: AnyUser, notification_id: int) -> Notification:
    """One of the user's own notifications, or 404 (another's is as absent as a missing one)."""
    return get_object_or_404(notifications_for(user), pk=notification_id)


def unread_count(user: AnyUser) -> int:
    """How many of the user's notifications are unread: one count on the partial index of unread rows."""
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def email_categories_of(user: AnyUser) -> list[str]:
    """The categories the user still gets e-mails of."""
    if not user.is_authenticated:
        return []
    off = set(EmailOptOut.objects.filter(user_id=user.pk).values_list("category", flat=True))
    return [category.value for category in NotificationCategory if category.value not in off]
