"""ASGI entry point: pages (HTTP) and console websockets on one origin and port.

Websockets pass the Origin check (``ALLOWED_HOSTS``) and get the session's user, so a
console rides the same login as the pages; each console still demands a one-time ticket (the
read-only top pages do not: see ``hypervisors.hosts.consumers``).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django is set up before anything imports models (the consumers do).
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from containers.containers.routing import websocket_urlpatterns as container_websockets  # noqa: E402
from hypervisors.hosts.routing import websocket_urlpatterns as top_websockets  # noqa: E402
from hypervisors.vms.routing import websocket_urlpatterns as vm_websockets  # noqa: E402

websockets = URLRouter([*vm_websockets, *container_websockets, *top_websockets])
application = ProtocolTypeRouter(
    {"http": django_application, "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(websockets))}
)
