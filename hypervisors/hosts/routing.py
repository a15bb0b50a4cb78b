"""Websocket routes of the top pages (mounted in config/asgi.py)."""

from typing import Any

from django.urls import path

from hypervisors.hosts.consumers import HostTopConsumer, TeamTopConsumer

# Channels routes Django paths to ASGI applications, which the stubs of path() do not know.
websocket_urlpatterns: list[Any] = [
    path("ws/hosts/<int:pk>/top/", HostTopConsumer.as_asgi(), name="host-top-ws"),  # type: ignore[arg-type]
    path("ws/teams/<slug:slug>/top/", TeamTopConsumer.as_asgi(), name="team-top-ws"),  # type: ignore[arg-type]
]
