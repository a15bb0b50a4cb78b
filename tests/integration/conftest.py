"""Fixtures for tests on the real stack (see tests/live.py)."""

from tests.live import celery_worker_process, guest_image, live_member, live_team, qemu_host  # noqa: F401
