"""Websocket routes of VM pages (mounted in config/asgi.py)."""

from typing import Any

from django.urls import path

from hypervisors.vms.consumers import VMConsoleConsumer, VMGraphicsConsumer

# Channels routes Django paths to ASGI applications, which the stubs of path() do not know.
websocket_urlpatterns: list[Any] = [
    path("ws/vms/<uuid:vm_uuid>/console/", VMConsoleConsumer.as_asgi(), name="vm-console-ws"),  # type: ignore[arg-type]
    path("ws/vms/<uuid:vm_uuid>/graphics/", VMGraphicsConsumer.as_asgi(), name="vm-graphics-ws"),  # type: ignore[arg-type]
]
