"""The project package: settings, root URLs, the Celery app and the WSGI/ASGI entry points.

The apps (``portal``, ``hypervisors``, ``containers``, ``overview``) never import it;
it imports them only by name, through settings and URL includes.
"""

from config.celery import app as celery_app

__all__ = ("celery_app",)
