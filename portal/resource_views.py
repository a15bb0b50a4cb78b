"""Generic pages of a live resource (a VM, a container): its page with a live status fragment, and its POST actions.

A kind's views subclass these and declare their selector (how to load the
object for this user, 404 for anyone else), their status fragment and the
service an action calls. Scope and role are checked on the server: the selector
scopes the read, the service checks the role; a template only hides buttons.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from portal.graphs import HISTORY_WINDOWS, Series, series_payload
from portal.htmx import fragment_with_trigger, gone_redirect, is_htmx
from portal.leases.selectors import lease_view


class ResourceStatusMixin(LoginRequiredMixin):
    """What every page of one kind shares: how to load the object and what its status fragment shows."""

    #: The fragment htmx swaps in and polls while a job runs.
    status_template: ClassVar[str]
    #: The event sent after an accepted action, so the page refreshes its parts and starts polling.
    changed_event: ClassVar[str]
    #: The URL name of the resource's page, and the URL keyword that names the resource.
    detail_url_name: ClassVar[str]
    lookup_kwarg: ClassVar[str] = "pk"

    def get_object(self, request: HttpRequest, lookup: Any) -> models.Model:
        """The resource if it is one of the user's teams', else ``Http404`` (a selector call)."""
        raise NotImplementedError

    def status_context(self, request: HttpRequest, obj: models.Model, error: str = "") -> dict[str, Any]:
        """The context of the status fragment."""
        raise NotImplementedError

    def detail_url(self, obj: models.Model) -> str:
        return reverse(self.detail_url_name, kwargs={self.lookup_kwarg: getattr(obj, self.lookup_kwarg)})


class ResourceDetailView(ResourceStatusMixin, View):
    """A resource's page; htmx asks for the status fragment alone, which polls while a job runs."""

    template_name: ClassVar[str]
    #: Where an open page goes when the resource is gone (a failed build or a delete removed the row).
    gone_url_name: ClassVar[str] = "request-list"

    def page_context(self, request: HttpRequest, obj: models.Model) -> dict[str, Any]:
        """What the full page adds to the status fragment (graphs, forms, logs)."""
        return {}

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        try:
            obj = self.get_object(request, kwargs[self.lookup_kwarg])
        except Http404:
            if is_htmx(request):
                # Any unknown resource gets the same answer as a deleted one, so nothing leaks.
                return gone_redirect(reverse(self.gone_url_name))
            raise
        context = self.status_context(request, obj)
        if is_htmx(request):
            return render(request, self.status_template, context)
        context.update(self.page_context(request, obj))
        context["lease"] = lease_view(request.user, obj)
        return render(request, self.template_name, context)


class ResourceActionView(ResourceStatusMixin, View):
    """A POST that asks a service for an action; answers with the fresh status fragment (htmx) or a redirect.

    A refused action (``ValidationError``) is shown in the fragment; a refused
    role (``PermissionDenied``) is a 403 like everywhere else.
    """

    success_message: ClassVar[str] = "Queued; the page follows its progress."

    def act(self, request: HttpRequest, obj: models.Model, **kwargs: Any) -> None:
        """Call the service; raise ``ValidationError`` with the reason when it refuses."""
        raise NotImplementedError

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        obj = self.get_object(request, kwargs.pop(self.lookup_kwarg))
        error = ""
        try:
            self.act(request, obj, **kwargs)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        if is_htmx(request):
            return fragment_with_trigger(
                request, self.status_template, self.status_context(request, obj, error), self.changed_event
            )
        if error:
            messages.error(request, error)
        else:
            messages.success(request, self.success_message)
        return redirect(self.detail_url(obj))


class ResourceHistoryView(ResourceStatusMixin, View):
    """A resource's load history as JSON for the page's charts: ``?window=1h|24h|7d|90d``.

    Read from the sample rows (rolled up with age by ``portal.history``), never from a host.
    """

    def series(self, obj: models.Model, since: datetime) -> list[Series]:
        """The resource's series from its samples taken since ``since``."""
        raise NotImplementedError

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        obj = self.get_object(request, kwargs[self.lookup_kwarg])
        name = request.GET.get("window", "1h")
        if name not in HISTORY_WINDOWS:
            choices = ", ".join(HISTORY_WINDOWS)
            return JsonResponse({"error": f"Unknown window {name[:20]!r}: choose one of {choices}."}, status=400)
        end = timezone.now()
        start = end - HISTORY_WINDOWS[name][0]
        return JsonResponse(series_payload(self.series(obj, start), start, end))
