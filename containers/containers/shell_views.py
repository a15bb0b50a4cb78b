"""A container's shell tab: the page with its terminal, and the ticket its websocket needs."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from containers.containers.selectors import container_get
from containers.containers.shell import container_shell_unavailable
from containers.models import Container
from portal.choices import ConsoleKind
from portal.console_views import ConsoleMixin, ConsolePageView, ConsoleTicketView


class ContainerShellMixin(ConsoleMixin):
    console_kind = ConsoleKind.SHELL
    ticket_url_name = "container-shell-ticket"
    lookup_kwarg = "pk"

    def get_object(self, request: HttpRequest, lookup: Any) -> Container:
        return container_get(request.user, lookup)

    def unavailable(self, obj: models.Model) -> str:
        assert isinstance(obj, Container)
        return container_shell_unavailable(obj)


class ContainerShellView(ContainerShellMixin, ConsolePageView):
    """A shell in the container, in the browser."""

    template_name = "containers/container_shell.html"


class ContainerShellTicketView(ContainerShellMixin, ConsoleTicketView):
    """A one-time ticket for the container's shell websocket."""
