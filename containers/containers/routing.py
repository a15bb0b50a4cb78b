"""Websocket routes of container pages (mounted in config/asgi.py)."""

from typing import Any

from django.urls import path

from containers.containers.consumers import ContainerShellConsumer

# Channels routes Django paths to ASGI applications, which the stubs of path() do not know.
websocket_urlpatterns: list[Any] = [
    path("ws/containers/<int:pk>/shell/", ContainerShellConsumer.as_asgi(), name="container-shell-ws"),  # type: ignore[arg-type]
]
