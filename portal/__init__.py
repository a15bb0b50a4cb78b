"""The portal project: settings, the Celery app and the shared domain (teams, quotas, requests, jobs, audit)."""

from portal.celery import app as celery_app

__all__ = ("celery_app",)
