"""A shell in a running container: ``docker exec /bin/sh`` with a tty, as a socket read by a thread.

The exec runs as the container's own user and never privileged (the exec API's defaults,
stated explicitly here). Output is read in a daemon thread and handed to a callback; the
end is reported with the shell's exit code.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from docker.errors import APIError, DockerException

from containers.drivers.base import ContainerEngine, ContainerNotFound, EngineError, EngineUnreachable
from containers.drivers.docker_driver import DockerEngine, translate_errors

logger = logging.getLogger(__name__)

#: What the shell runs; busybox and every distribution image have it.
SHELL = ["/bin/sh"]
CHUNK = 64 * 1024


class ContainerNotRunning(EngineError):
    """The container does not run, so a shell cannot start in it."""


class ExecShell:
    """An interactive ``/bin/sh`` in a container. ``close()`` ends it; idempotent."""

    def __init__(
        self, engine: DockerEngine, engine_id: str, *, output: Callable[[bytes], None], ended: Callable[[str], None]
    ):
        self.engine, self.engine_id = engine, engine_id
        self._output, self._ended = output, ended
        self._exec_id = ""
        self._socket: Any = None
        self._closed = False
        #: The last size asked for: the engine may apply its own size as the process starts, so the
        #: size is set again once the shell has printed something.
        self._size: tuple[int, int] | None = None

    @translate_errors
    def open(self) -> ExecShell:
        api = self.engine.client.api
        if not api.inspect_container(self.engine_id).get("State", {}).get("Running"):
            raise ContainerNotRunning("The container is not running.")
        created = api.exec_create(
            self.engine_id,
            SHELL,
            stdin=True,
            tty=True,
            privileged=False,
            environment={"TERM": "xterm-256color"},
        )
        self._exec_id = created["Id"]
        attached = api.exec_start(self._exec_id, tty=True, socket=True)
        # A local engine answers with a SocketIO wrapper, the raw socket is what reads and writes without buffering.
        self._socket = getattr(attached, "_sock", attached)
        # The client's request timeout would end a quiet shell: the socket waits for as long as the shell lives.
        with contextlib.suppress(AttributeError, OSError):
            self._socket.settimeout(None)
        threading.Thread(target=self._read, name=f"exec-{self.engine_id[:12]}", daemon=True).start()
        return self

    def _read(self) -> None:
        started = False
        while not self._closed:
            try:
                data = self._socket.recv(CHUNK)
            except OSError:
                break
            if not data:
                break
            self._output(bytes(data))
            if not started and self._size is not None:
                self.resize(*self._size)
            started = True
        if not self._closed:
            self._ended("exited")

    def exit_code(self) -> int | None:
        """The shell's exit code once it ended; None while it runs or when the engine cannot tell."""
        try:
            code = self.engine.client.api.exec_inspect(self._exec_id).get("ExitCode")
        except (APIError, DockerException):
            return None
        return code if isinstance(code, int) else None

    def send(self, data: bytes) -> None:
        if self._closed:
            return
        try:
            self._socket.sendall(data)
        except OSError:
            logger.debug("Writing to the shell in %s failed", self.engine_id, exc_info=True)

    def resize(self, cols: int, rows: int) -> None:
        self._size = (cols, rows)
        try:
            self.engine.client.api.exec_resize(self._exec_id, height=rows, width=cols)
        except (APIError, DockerException):
            logger.info("Resizing the shell in %s failed", self.engine_id, exc_info=True)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._socket is not None:
            # Ctrl-C drops a half-typed line and Ctrl-D then ends the shell: the engine keeps an exec
            # running after its client left, and a shell left behind in every container would pile up.
            with contextlib.suppress(OSError):
                self._socket.sendall(b"\x03\x04")
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                self._socket.close()
        self.engine.close()


def shell_open(
    engine: ContainerEngine, engine_id: str, *, output: Callable[[bytes], None], ended: Callable[[str], None]
) -> ExecShell:
    """Start ``/bin/sh`` with a tty in a running container; the shell owns ``engine`` and closes it.

    Raises ``ContainerNotRunning``, ``ContainerNotFound``, ``EngineUnreachable``, ``EngineError``.
    """
    if not isinstance(engine, DockerEngine):
        raise EngineError("This engine offers no shell.")
    shell = ExecShell(engine, engine_id, output=output, ended=ended)
    try:
        return shell.open()
    except Exception:
        engine.close()
        raise


__all__ = ["ContainerNotFound", "ContainerNotRunning", "EngineUnreachable", "ExecShell", "shell_open"]
