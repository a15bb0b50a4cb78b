"""Generic pages of a resource's browser console: the page with the terminal, and the POST that issues a ticket.

A kind's views subclass these and name their selector, console kind and websocket route.
The page never opens the console itself: its script asks for a one-time ticket (a POST,
so CSRF protects it) and brings it to the websocket, which checks everything again.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from portal.consoles import console_allowed, console_ticket_issue
from portal.models import Team


class ConsoleMixin(LoginRequiredMixin):
    """What a kind's console pages declare: how to load the resource, its team, and the websocket route."""

    #: A ``ConsoleKind`` value.
    console_kind: ClassVar[str]
    #: The URL name of the ticket POST; it takes ``lookup_kwarg``. The websocket's path is the page's
    #: path under ``/ws`` (the routes in the kind's ``routing.py`` follow that rule).
    ticket_url_name: ClassVar[str]
    lookup_kwarg: ClassVar[str] = "pk"

    def get_object(self, request: HttpRequest, lookup: Any) -> models.Model:
        """The resource if it is one of the user's teams', else ``Http404`` (a selector call)."""
        raise NotImplementedError

    def team_of(self, obj: models.Model) -> Team:
        return obj.team  # type: ignore[attr-defined]

    def unavailable(self, obj: models.Model) -> str:
        """Why the console cannot open now ("Start the VM to use its console."), or empty."""
        return ""

    def lookup(self, obj: models.Model) -> dict[str, Any]:
        return {self.lookup_kwarg: getattr(obj, self.lookup_kwarg)}


class ConsolePageView(ConsoleMixin, View):
    """The console tab: the terminal and what it needs to connect; viewers are refused (403), outsiders get 404."""

    template_name: ClassVar[str]

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        obj = self.get_object(request, kwargs[self.lookup_kwarg])
        if not console_allowed(request.user, self.team_of(obj)):
            raise PermissionDenied("Consoles are for members and team admins of the team.")
        context = {
            "object": obj,
            "console_kind": self.console_kind,
            "unavailable": self.unavailable(obj),
            "ticket_url": reverse(self.ticket_url_name, kwargs=self.lookup(obj)),
            "websocket_path": f"/ws{request.path}",
        }
        return render(request, self.template_name, context)


class ConsoleTicketView(ConsoleMixin, View):
    """POST: a one-time ticket for the websocket, as JSON; ``take_over=1`` asks to take a held console."""

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        obj = self.get_object(request, kwargs[self.lookup_kwarg])
        if not console_allowed(request.user, self.team_of(obj)):
            raise PermissionDenied("Consoles are for members and team admins of the team.")
        reason = self.unavailable(obj)
        if reason:
            return JsonResponse({"message": reason}, status=409)
        ticket = console_ticket_issue(
            actor=request.user,
            target=obj,
            team=self.team_of(obj),
            kind=self.console_kind,
            take_over=request.POST.get("take_over") == "1",
        )
        response = JsonResponse({"ticket": ticket})
        response["Cache-Control"] = "no-store"
        return response
