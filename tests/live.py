"""Helpers for tests that use the real services: Redis, a Celery worker, qemu:///system, Docker.

Locally a missing service skips those tests with the reason; under CI (``CI``
set) it fails them, so a green CI run always means they ran.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import libvirt
import pytest
from django.conf import settings
from django.db import connection

from hypervisors.choices import HypervisorKind
from hypervisors.hosts.services import host_probe
from hypervisors.models import Host, Image
from portal.choices import Role
from portal.models import Team
from tests.factories import ImageFactory, MembershipFactory, TeamFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
WORKER_COMMAND = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO"]


def require(available: bool, reason: str) -> None:
    """Skip (locally) or fail (in CI) when a real service a test needs is missing."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run this test)")
    pytest.skip(reason)


def require_postgresql() -> None:
    require(connection.vendor == "postgresql", "needs PostgreSQL (set DATABASE_URL)")


def redis_available() -> bool:
    import redis
    from django.conf import settings

    try:
        return bool(redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def libvirt_system_available() -> bool:
    try:
        libvirt.open("qemu:///system").close()
    except libvirt.libvirtError:
        return False
    return True


def database_url_for_subprocess() -> str:
    """The URL of the database the tests run on, for processes the tests start."""
    settings = connection.settings_dict
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


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


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.5) -> None:
    """Poll ``condition`` until true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}")


#: Storage pool the tests create on the real host, apart from the demo's.
TEST_POOL = "portal-test"
TEST_POOL_PATH = "/var/lib/libvirt/images/portal-test"


@pytest.fixture
def qemu_host(transactional_db, live_team) -> Iterator[Host]:
    """The local ``qemu:///system``, probed for real.

    Afterwards the domains of ``live_team`` (named ``<slug>.<vm>``) and their disks
    are removed; nothing else on the host is touched.
    """
    require(libvirt_system_available(), "needs libvirtd with qemu:///system")
    host = host_probe(host_id=Host.objects.create(name="local", uri="qemu:///system").pk)
    assert host.is_reachable, host.last_error
    host.storage_pool, host.storage_path = TEST_POOL, TEST_POOL_PATH
    conn = libvirt.open("qemu:///system")
    network = conn.networkLookupByName("default")
    if not network.isActive():
        network.create()
    host.network = "default"
    host.save()
    try:
        yield host
    finally:
        for domain in conn.listAllDomains(0):
            if domain.name().startswith(f"{live_team.slug}."):
                _domain_remove(conn, domain)
        conn.close()


def _domain_remove(conn: libvirt.virConnect, domain: libvirt.virDomain) -> None:
    """Destroy and undefine a test's domain, and delete its disks."""
    root = ET.fromstring(domain.XMLDesc(0))
    disks = [source.get("file") for source in root.findall("devices/disk/source") if source.get("file")]
    if domain.isActive():
        domain.destroy()
    domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
    for path in disks:
        with contextlib.suppress(libvirt.libvirtError):
            conn.storageVolLookupByPath(path).delete(0)


@pytest.fixture
def guest_image(transactional_db) -> Image:
    """The tiny Debian-kernel + busybox guest built by scripts/build-guest-image.sh."""
    directory = settings.PORTAL_GUEST_IMAGE_DIR
    require((directory / "vmlinuz").exists(), f"needs the guest image in {directory} (scripts/setup.sh builds it)")
    return ImageFactory(
        name="busybox-tiny",
        kernel_path=str(directory / "vmlinuz"),
        initrd_path=str(directory / "initramfs.cpio.gz"),
        kernel_cmdline="console=ttyS0 panic=-1 quiet",
    )


@pytest.fixture
def live_team(transactional_db) -> Team:
    """A team with a unique slug, so its domain names never meet leftovers of another run."""
    slug = f"it{uuid.uuid4().hex[:8]}"
    team = TeamFactory(name=slug, slug=slug)
    team.quota.vcpus, team.quota.memory_mib = Decimal("4"), 1024
    team.quota.save()
    return team


@pytest.fixture
def live_member(live_team):
    user = UserFactory(username="alice")
    MembershipFactory(user=user, team=live_team, role=Role.MEMBER)
    return user


# --------------------------------------------------------------------------------------------
# Processes, jobs, guests and libvirtd for the lifecycle, events, failure and remote-host tests.
# --------------------------------------------------------------------------------------------

from typing import Any  # noqa: E402

from portal.choices import FINISHED_JOB_STATES  # noqa: E402
from portal.models import Job, ResourceRequest  # noqa: E402

#: What the tiny guest's init prints once booted (scripts/build-guest-image.sh).
GUEST_BANNER = "portal-guest: booted"
#: Where libvirt keeps each guest's serial console output (see hypervisors/vms/provisioning.py).
CONSOLE_LOG_DIR = Path("/var/log/libvirt/qemu")


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


LISTENER_COMMAND = [sys.executable, "manage.py", "listen_events"]


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


def console_log(domain_name: str) -> Path:
    return CONSOLE_LOG_DIR / f"{domain_name}.console.log"


def banner_count(domain_name: str) -> int:
    """How often the guest has printed its boot banner since its QEMU process started."""
    path = console_log(domain_name)
    return path.read_text(errors="replace").count(GUEST_BANNER) if path.exists() else 0


def virsh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``virsh -c qemu:///system ARGS``, as an administrator would type it."""
    return subprocess.run(
        ["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True, timeout=60, check=check
    )


def libvirtd_pid() -> int | None:
    """The pid of the running libvirtd (the one monolithic daemon here), or None."""
    found = subprocess.run(["pidof", "-s", "libvirtd"], capture_output=True, text=True)
    return int(found.stdout.split()[0]) if found.returncode == 0 and found.stdout.strip() else None


def libvirtd_answers() -> bool:
    try:
        return virsh("version", check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def libvirtd_ensure_running(timeout: float = 60) -> None:
    """Start virtlogd and libvirtd as scripts/setup.sh does, if they are not running, and wait for them.

    Also make sure the ``default`` network is active again.
    """
    if subprocess.run(["pidof", "virtlogd"], capture_output=True).returncode != 0:
        subprocess.run(["virtlogd", "-d"], check=True, timeout=30)
    if libvirtd_pid() is None:
        subprocess.run(["libvirtd", "-d"], check=True, timeout=30)
    deadline = time.monotonic() + timeout
    while not libvirtd_answers():
        if time.monotonic() > deadline:
            raise RuntimeError("libvirtd did not answer after a restart")
        time.sleep(0.5)
    info = virsh("net-info", "default", check=False).stdout
    if "Active:" in info and "yes" not in info.split("Active:")[1].splitlines()[0]:
        virsh("net-start", "default", check=False)


@contextlib.contextmanager
def libvirtd_frozen() -> Iterator[int]:
    """libvirtd stopped with SIGSTOP for the block: its clients block in their calls. Always resumed."""
    import signal

    pid = libvirtd_pid()
    require(pid is not None, "needs a running libvirtd")
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)


@contextlib.contextmanager
def libvirtd_down() -> Iterator[None]:
    """libvirtd not running for the block (stopped by its pid); started again after it, whatever happened.

    Running guests survive: their QEMU processes are not libvirtd's, and the
    restarted daemon reconnects to them.
    """
    import signal

    pid = libvirtd_pid()
    require(pid is not None, "needs a running libvirtd")
    assert pid is not None
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
            while Path(f"/proc/{pid}").exists():
                time.sleep(0.2)
        yield
    finally:
        libvirtd_ensure_running()


def vm_request(team: Team, member: Any, image: Image, name: str, **sizes: int) -> ResourceRequest:
    """A member's ask for a tiny VM (96 MiB, 1 vCPU, 1 GiB unless told), through the service pages call."""
    from portal.services import request_submit

    return request_submit(
        actor=member,
        team=team,
        kind=HypervisorKind.VM,
        name=name,
        vcpus=sizes.get("vcpus", 1),
        memory_mib=sizes.get("memory_mib", 96),
        disk_gib=sizes.get("disk_gib", 1),
        justification="integration test",
        spec={"image_id": image.pk},
    )


def vm_build(team: Team, member: Any, image: Image, name: str, log: Callable[[], str], timeout: float = 180) -> Any:
    """Ask for a tiny VM, approve it as an administrator and wait until a running worker built it.

    ``log`` gives the worker's log for the failure message. Returns the VM row.
    """
    from hypervisors.models import VirtualMachine
    from portal.choices import JobState
    from portal.services import request_approve

    request = vm_request(team, member, image, name)
    admin = UserFactory(username=f"approver-{name}", is_staff=True, is_superuser=True)
    job = job_wait(request_approve(actor=admin, request_id=request.pk).pk, timeout, f"the build of {name}")
    assert job.state == JobState.SUCCEEDED, f"{job.error}\n{log()}"
    return VirtualMachine.objects.get(request=request)


def _live_team_domains_remove(team_slug: str) -> None:
    """Remove the domains of a test team (named ``<slug>.<vm>``) and their disks, over a fresh connection."""
    conn = libvirt.open("qemu:///system")
    try:
        for domain in conn.listAllDomains(0):
            if domain.name().startswith(f"{team_slug}."):
                _domain_remove(conn, domain)
    finally:
        conn.close()


@pytest.fixture
def qemu_host_restartable(transactional_db, live_team) -> Iterator[Host]:
    """``qemu_host`` for tests that stop or restart libvirtd.

    It keeps no connection open during the test (one held across a restart of
    libvirtd is broken afterwards); it makes sure libvirtd runs again, then
    removes the team's domains and disks over a fresh connection.
    """
    require(libvirt_system_available(), "needs libvirtd with qemu:///system")
    host = host_probe(host_id=Host.objects.create(name="local", uri="qemu:///system").pk)
    assert host.is_reachable, host.last_error
    host.storage_pool, host.storage_path, host.network = TEST_POOL, TEST_POOL_PATH, "default"
    conn = libvirt.open("qemu:///system")
    try:
        network = conn.networkLookupByName("default")
        if not network.isActive():
            network.create()
    finally:
        conn.close()
    host.save()
    try:
        yield host
    finally:
        libvirtd_ensure_running()
        _live_team_domains_remove(live_team.slug)


class SshLoopback:
    """A private sshd on 127.0.0.1 that lets one fresh key log in as root, and a ``qemu+ssh://`` URI through it.

    The URI reaches this machine's own libvirtd over SSH, as a remote host would
    be reached. ssh is run through a small wrapper (libvirt's ``command``
    parameter) that pins the sshd's host key in a known_hosts file of its own,
    so the host key is verified and nothing is written to ~/.ssh.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.created_privsep_dir = False

    @property
    def log_path(self) -> Path:
        return self.directory / "sshd.log"

    @property
    def client_key(self) -> Path:
        return self.directory / "client_ed25519"

    @property
    def uri(self) -> str:
        from urllib.parse import quote

        keyfile, command = quote(str(self.client_key), safe="/"), quote(str(self.directory / "ssh"), safe="/")
        return f"qemu+ssh://root@127.0.0.1:{self.port}/system?keyfile={keyfile}&no_tty=1&command={command}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def logins(self) -> int:
        """Logins the sshd accepted so far."""
        return self.log().count("Accepted publickey for root")

    def start(self) -> None:
        import socket

        keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
        host_key = self.directory / "host_ed25519"
        subprocess.run([*keygen, "-C", "portal-test-sshd", "-f", str(host_key)], check=True)
        subprocess.run([*keygen, "-C", "portal-test-client", "-f", str(self.client_key)], check=True)
        authorized_keys = self.directory / "authorized_keys"
        authorized_keys.write_text(self.client_key.with_suffix(".pub").read_text())
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        known_hosts = self.directory / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_key.with_suffix('.pub').read_text()}")
        wrapper = self.directory / "ssh"
        wrapper.write_text(
            "#!/bin/sh\n"
            f"exec /usr/bin/ssh -o UserKnownHostsFile={known_hosts} -o GlobalKnownHostsFile=/dev/null"
            ' -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes "$@"\n'
        )
        wrapper.chmod(0o700)
        config = self.directory / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {host_key}",
                    f"PidFile {self.directory / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized_keys}",
                    "PermitRootLogin prohibit-password",
                    "AllowUsers root",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    # The key files live under /tmp, which is world-writable.
                    "StrictModes no",
                    "X11Forwarding no",
                    "AllowTcpForwarding no",
                    "PermitTTY no",
                    "LogLevel VERBOSE",
                    "",
                ]
            )
        )
        privsep = Path("/run/sshd")
        if not privsep.exists():
            privsep.mkdir(mode=0o755)
            self.created_privsep_dir = True
        self.process = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-f", str(config), "-E", str(self.log_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the private sshd did not start: {self.log()}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the sshd and the sessions it forked (by their pids), then remove keys and configuration."""
        import shutil
        import signal

        try:
            if self.process is not None and self.process.poll() is None:
                sessions = _descendants(self.process.pid)
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
                for pid in sessions:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
            if self.created_privsep_dir:
                with contextlib.suppress(OSError):
                    Path("/run/sshd").rmdir()


def _descendants(pid: int) -> list[int]:
    """Pids of every process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.fixture
def ssh_loopback() -> Iterator[SshLoopback]:
    """A private sshd to this machine and a ``qemu+ssh://`` URI through it; all removed afterwards."""
    import shutil
    import tempfile

    require(Path("/usr/sbin/sshd").exists(), "needs openssh-server (/usr/sbin/sshd); scripts/setup.sh installs it")
    require(shutil.which("ssh") is not None and shutil.which("ssh-keygen") is not None, "needs openssh-client")
    sshd = SshLoopback(Path(tempfile.mkdtemp(prefix="portal-sshd-")))
    try:
        sshd.start()
        yield sshd
    finally:
        sshd.stop()
