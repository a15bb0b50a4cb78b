"""The header's unread count, for every page that extends ``base.html``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.http import HttpRequest

from portal.notifications.selectors import unread_count


def unread_notifications(request: HttpRequest) -> dict[str, Callable[[], int]]:
    """The count as a callable: the template calls it only where the badge is drawn, so a fragment costs nothing.

    A request that went through no authentication middleware (a bare test request) has no user: no count.
    """
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {"unread_notifications": partial(unread_count, user)}
