"""Pages of a user's own notifications: the list, mark read (one or all), the header's badge, e-mail choices.

Every read goes through ``portal.notifications.selectors`` (the user's own rows only), every
write through ``portal.notifications.services``; writes are POSTs carrying the CSRF token.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View

from portal.htmx import fragment_with_trigger, is_htmx, page_or_fragment
from portal.notifications.forms import EmailCategoriesForm
from portal.notifications.selectors import email_categories_of, notification_get, notifications_for, unread_count
from portal.notifications.services import email_categories_set, notifications_mark_read
from portal.pagination import keyset_page

#: The event that tells the header's badge to count again.
CHANGED_EVENT = "notifications-changed"
#: htmx stops polling an element whose answer has this status (the session ended: no badge to keep fresh).
STOP_POLLING = 286
#: Notifications a page.
PAGE_SIZE = 25
#: Newest first; ``id`` breaks ties so the keyset cursor is exact.
ORDERING = ("-created_at", "-id")

LIST_PAGE = "portal/notifications/list.html"
LIST_FRAGMENT = "portal/notifications/_list.html"
ROW_FRAGMENT = "portal/notifications/_row.html"
BADGE_FRAGMENT = "portal/notifications/_unread_badge.html"
EMAIL_FRAGMENT = "portal/notifications/_email_categories.html"


def _list_context(request: HttpRequest) -> dict[str, Any]:
    page = keyset_page(notifications_for(request.user), ORDERING, PAGE_SIZE, params=request.GET)
    return {"notifications": page, "page_obj": page, "unread": unread_count(request.user)}


class NotificationListView(LoginRequiredMixin, View):
    """The user's notifications, newest first, a page at a time (keyset: cheap however many there are)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return page_or_fragment(request, page=LIST_PAGE, fragment=LIST_FRAGMENT, context=_list_context(request))


class NotificationReadView(LoginRequiredMixin, View):
    """Mark one of the user's own notifications as read; another's is 404 and stays as it was."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        notification = notification_get(request.user, pk)
        notifications_mark_read(user=request.user, notification_ids=[notification.pk])
        if not is_htmx(request):
            return redirect("notification-list")
        notification.refresh_from_db(fields=["read_at"])
        return fragment_with_trigger(request, ROW_FRAGMENT, {"notification": notification}, CHANGED_EVENT)


class NotificationReadAllView(LoginRequiredMixin, View):
    """Mark all of the user's unread notifications as read."""

    def post(self, request: HttpRequest) -> HttpResponse:
        marked = notifications_mark_read(user=request.user)
        if not is_htmx(request):
            messages.success(request, f"{marked} notification(s) marked as read.")
            return redirect("notification-list")
        return fragment_with_trigger(request, LIST_FRAGMENT, _list_context(request), CHANGED_EVENT)


class UnreadBadgeView(View):
    """The header's unread count, polled by htmx; after logout it answers so that the polling stops."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated:
            return HttpResponse(status=STOP_POLLING)
        return render(request, BADGE_FRAGMENT, {"unread_notifications": unread_count(request.user)})


def email_section(request: HttpRequest, form: EmailCategoriesForm | None = None, **extra: Any) -> dict[str, Any]:
    """The profile's e-mail section: the form, ticked as the user chose."""
    if form is None:
        form = EmailCategoriesForm(initial={"categories": email_categories_of(request.user)})
    return {"email_form": form, **extra}


class EmailCategoriesView(LoginRequiredMixin, View):
    """Choose the kinds of notification that also come by e-mail (the profile's section posts here)."""

    def post(self, request: HttpRequest) -> HttpResponse:
        assert request.user.is_authenticated  # LoginRequiredMixin let only logged-in users through
        form = EmailCategoriesForm(request.POST)
        if not form.is_valid():
            if not is_htmx(request):
                messages.error(request, "Choose kinds of notification from the list.")
                return redirect("profile")
            return render(request, EMAIL_FRAGMENT, email_section(request, form), status=400)
        email_categories_set(user=request.user, enabled=form.cleaned_data["categories"])
        if not is_htmx(request):
            messages.success(request, "E-mail choices saved.")
            return redirect("profile")
        return render(request, EMAIL_FRAGMENT, email_section(request, saved=True))
