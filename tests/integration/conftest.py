"""Fixtures for tests on the real stack (see tests/support: stack, processes, qemu, ssh)."""

from tests.support.processes import celery_worker_process, processes  # noqa: F401
from tests.support.qemu import guest_image, qemu_host, qemu_host_restartable  # noqa: F401
from tests.support.smtp import refusing_smtp_server, smtp_server  # noqa: F401
from tests.support.ssh import ssh_loopback  # noqa: F401
from tests.support.stack import live_member, live_team  # noqa: F401
