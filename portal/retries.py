"""Retrying a job's task while its host does not answer, with exponential back-off.

Waits ``PORTAL_RETRY_BASE_SECONDS``, doubling, ``PORTAL_RETRY_LIMIT`` times; the
last attempt is told it is the last, so it fails the job cleanly instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Task
from django.conf import settings

from portal.jobs import RetryLater


def backoff(retries: int) -> int:
    """Seconds before retry number ``retries + 1``."""
    return int(settings.PORTAL_RETRY_BASE_SECONDS * 2**retries)


def run_with_retries(task: Task[Any, Any], work: Callable[..., None], job_id: int) -> None:
    """Run ``work(job_id=..., final_attempt=...)``; on ``RetryLater`` schedule the task again."""
    final = task.request.retries >= settings.PORTAL_RETRY_LIMIT
    try:
        work(job_id=job_id, final_attempt=final)
    except RetryLater as exc:
        raise task.retry(exc=exc, countdown=backoff(task.request.retries), max_retries=None) from exc
