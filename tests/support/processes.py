"""Processes of the project started by integration tests: Celery workers, the event listener.

Each runs on the tests' database and broker and is stopped by its own pid
after the test, whatever happened.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

from portal.choices import FINISHED_JOB_STATES
from portal.models import Job
from tests.support.stack import (
    ROOT,
    database_url_for_subprocess,
    redis_available,
    require,
    require_postgresql,
    wait_until,
)

WORKER_COMMAND = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO"]
LISTENER_COMMAND = [sys.executable, "manage.py", "listen_events"]


class WorkerProcess:
    """A real Celery worker in its own process, on the tests' database and broker."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from config.celery import app

        app.control.purge()
        env = {**os.environ, "DATABASE_URL": database_url_for_subprocess()}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*WORKER_COMMAND, "-n", f"test-{os.getpid()}@%h"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path) -> Iterator[WorkerProcess]:
    """A real worker process consuming the tests' Redis broker; stopped after the test."""
    require_postgresql()
    require(redis_available(), "needs Redis")
    worker = WorkerProcess(tmp_path / "worker.log")
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


class ManagedProcess:
    """A long-running process of the project started by a test: a worker, the event listener...

    It runs on the tests' database (``DATABASE_URL``) and broker, with extra
    environment variables if given; its output goes to ``log_path``. Stopped by
    its own pid only.
    """

    def __init__(self, command: list[str], log_path: Path, env: dict[str, str] | None = None):
        self.command = command
        self.log_path = log_path
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> ManagedProcess:
        env = {**os.environ, "DATABASE_URL": database_url_for_subprocess(), **self.env}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = 15, timeout: float = 20) -> None:
        """Send ``sig`` (SIGTERM by default), wait, then SIGKILL if it is still there."""
        if self.running():
            assert self.process is not None
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.running():
            assert self.process is not None
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""


def worker_command(name: str) -> list[str]:
    """A solo-pool worker with its own node name (two workers of one test must not share one)."""
    return [*WORKER_COMMAND, "-n", f"{name}-{os.getpid()}@%h"]


@pytest.fixture
def processes(transactional_db, tmp_path) -> Iterator[Callable[..., ManagedProcess]]:
    """Start project processes for a test: ``processes("worker", worker_command("w1"), env={...})``.

    Every process started this way is stopped (SIGTERM, then SIGKILL) after the
    test, whatever happened; each logs to ``<tmp_path>/<label>.log``.
    """
    require_postgresql()
    started: list[ManagedProcess] = []

    def start(label: str, command: list[str], env: dict[str, str] | None = None) -> ManagedProcess:
        process = ManagedProcess(command, tmp_path / f"{label}.log", env)
        started.append(process)
        return process.start()

    try:
        yield start
    finally:
        for process in reversed(started):
            process.stop()


def broker_reset() -> None:
    """Empty the tests' broker: the default queue and the unacknowledged messages a killed worker left.

    Only while none of the test's workers run. A message left unacknowledged by
    an earlier, aborted run would otherwise be restored into this run and act on
    whatever job has its id now.
    """
    import redis

    from config.celery import app

    app.control.purge()
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("unacked", "unacked_index", "unacked_mutex")


def job_wait(job_id: int, timeout: float, what: str = "the job") -> Job:
    """Wait until a job has finished (succeeded or failed) and return its row."""
    wait_until(lambda: Job.objects.get(pk=job_id).state in FINISHED_JOB_STATES, timeout, what)
    return Job.objects.get(pk=job_id)
