"""Rows of notifications and of e-mail preferences (imported by ``portal.models``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from portal.notifications.categories import NotificationCategory


class Notification(models.Model):
    """One thing one person is told: shown in the portal, and e-mailed unless they opted out."""

    #: No index of its own: both indexes below begin with the user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="user",
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    category = models.CharField("category", max_length=30, choices=NotificationCategory.choices)
    subject = models.CharField("subject", max_length=200)
    body = models.TextField("body", blank=True)
    #: A path inside the portal (or admin) the notification points to; made absolute in e-mails.
    url = models.CharField("link", max_length=500, blank=True)
    created_at = models.DateTimeField("created", auto_now_add=True)
    read_at = models.DateTimeField("read", null=True, blank=True)
    #: Set once the e-mail went out; stays empty when e-mail is off for this category or the user has no address.
    emailed_at = models.DateTimeField("e-mailed", null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "notification"
        indexes = [
            # The header's unread count, on every page: only unread rows are in it, so it stays small.
            models.Index(fields=["user"], condition=models.Q(read_at__isnull=True), name="notification_user_unread"),
            # The list, newest first, paged by keyset on (created, id).
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_newest"),
        ]

    def __str__(self) -> str:
        return self.subject


class EmailOptOut(models.Model):
    """A category a user does not want e-mails of (they still see it in the portal)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="user", on_delete=models.CASCADE, related_name="email_opt_outs"
    )
    category = models.CharField("category", max_length=30, choices=NotificationCategory.choices)

    class Meta:
        verbose_name = "e-mail opt-out"
        constraints = [models.UniqueConstraint(fields=["user", "category"], name="email_opt_out_unique")]

    def __str__(self) -> str:
        return f"{self.user} - {self.category}"
