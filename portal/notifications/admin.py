"""Notifications in Django admin, read-only: support sees what someone was told, when, and whether it was e-mailed.

Notifications carry no secret (services write only what the person may read on the pages).
Opt-outs are each person's own choice on their profile, so admin shows them but does not edit them.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from portal.notifications.models import EmailOptOut, Notification


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by services only: no add, change or delete here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "category", "subject", "read_at", "emailed_at")
    list_filter = ("category", ("read_at", admin.EmptyFieldListFilter), ("emailed_at", admin.EmptyFieldListFilter))
    search_fields = ("user__username", "user__email", "subject")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    readonly_fields = ("user", "category", "subject", "body", "url", "created_at", "read_at", "emailed_at")


@admin.register(EmailOptOut)
class EmailOptOutAdmin(ReadOnlyAdmin):
    list_display = ("user", "category")
    list_filter = ("category",)
    search_fields = ("user__username",)
    list_select_related = ("user",)
