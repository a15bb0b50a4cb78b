"""Celery tasks of the cross-app pages: thin, call a service."""

from __future__ import annotations

from celery import shared_task

from overview.comparison import figures_refresh


@shared_task(name="overview.tasks.comparison_refresh")
def comparison_refresh() -> int:
    """Recompute the KVM-or-Docker figures of every host and engine (a beat task, every 15 minutes)."""
    return figures_refresh()
