"""Fixtures for browser tests on the real stack (see tests/support: stack, processes, qemu)."""

from tests.support.processes import celery_worker_process  # noqa: F401
from tests.support.qemu import guest_image, qemu_host  # noqa: F401
from tests.support.stack import live_member, live_team  # noqa: F401
