"""A private sshd on 127.0.0.1, so a host can be reached over ``qemu+ssh://`` as a remote one would."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import require


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
