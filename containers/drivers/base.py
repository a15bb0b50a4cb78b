"""The contract between the portal and a container engine (Docker).

Services and tasks call these methods; views and admin never do. Every method
says what it raises and whether it is idempotent, because a redelivered task
may run it twice.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType


class EngineError(Exception):
    """The engine refused or failed an operation. The message is fit to show a user."""


class EngineUnreachable(EngineError):
    """The engine did not answer. Worth retrying later."""


class ContainerNotFound(EngineError):
    """No container with that id or name exists on the engine."""


class UnsafeOptions(EngineError):
    """Create or update options asked for something the portal never allows (privileged, host mounts...)."""


@dataclass(frozen=True)
class EngineFacts:
    """What a probe learnt of an engine. A fact it could not read is None or empty."""

    engine_version: str = ""
    cpus: int | None = None
    memory_mib: int | None = None


@dataclass(frozen=True)
class PortMapping:
    """A container port published on the engine's host."""

    container_port: int
    host_port: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class ContainerSpec:
    """Everything the portal lets a container have; nothing else reaches the engine."""

    name: str
    image: str
    cpus: Decimal
    memory_mib: int
    command: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    ports: list[PortMapping] = field(default_factory=list)
    publish_address: str = "127.0.0.1"
    restart_policy: str = "no"
    labels: dict[str, str] = field(default_factory=dict)
    #: The user-defined network it starts on (its team's own); never the engine's shared ``bridge``.
    network: str = ""


@dataclass(frozen=True)
class ContainerStatus:
    """A container as the engine sees it."""

    engine_id: str
    name: str
    state: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerUsage:
    """CPU (percent of the container's limit) and memory in use, from one stats read."""

    cpu_percent: float | None
    memory_used_kib: int | None


@dataclass(frozen=True)
class ImageInfo:
    """An image on an engine."""

    image_id: str
    references: list[str]
    size_bytes: int | None


@dataclass(frozen=True)
class EngineNetwork:
    """A network on an engine."""

    engine_id: str
    name: str
    subnet: str = ""


@dataclass(frozen=True)
class EngineEvent:
    """A container event from the engine's event stream."""

    engine_id: str
    action: str


class ContainerEngine(abc.ABC):
    """One client of one engine. Use as a context manager; it closes on exit."""

    def __init__(self, base_url: str, tls: dict[str, str] | None = None):
        self.base_url = base_url
        self.tls = tls or {}

    def __enter__(self) -> ContainerEngine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @abc.abstractmethod
    def close(self) -> None:
        """Close the client. Idempotent; never raises."""

    @abc.abstractmethod
    def probe(self) -> EngineFacts:
        """Read the engine's version, CPUs and memory. Raises ``EngineUnreachable``."""

    @abc.abstractmethod
    def images_list(self) -> list[ImageInfo]:
        """Every image on the engine, in one call."""

    @abc.abstractmethod
    def image_load(self, *, path: str, mode: str, reference: str = "") -> list[str]:
        """Load (``docker load``) or import (``docker import``, needs ``reference``) a tar; return references."""

    @abc.abstractmethod
    def container_create(self, spec: ContainerSpec) -> str:
        """Create a container from an allowlisted spec unless one of that name exists; return its id.

        Idempotent by name, but only for a container carrying the spec's
        ``portal.*`` labels: a namesake without them is not the portal's and is
        never adopted (``EngineError``). Raises ``UnsafeOptions`` (never for specs
        built by the portal), ``EngineError`` (port taken, image missing...).
        """

    @abc.abstractmethod
    def container_start(self, engine_id: str) -> None:
        """Start; running already is success."""

    @abc.abstractmethod
    def container_stop(self, engine_id: str, timeout: int = 10) -> None:
        """Stop (SIGTERM, then SIGKILL after ``timeout`` s); stopped already is success."""

    @abc.abstractmethod
    def container_restart(self, engine_id: str, timeout: int = 10) -> None:
        """Restart."""

    @abc.abstractmethod
    def container_pause(self, engine_id: str) -> None:
        """Freeze its processes; paused already is success."""

    @abc.abstractmethod
    def container_unpause(self, engine_id: str) -> None:
        """Thaw its processes; running already is success."""

    @abc.abstractmethod
    def container_remove(self, engine_id: str, *, labels: dict[str, str] | None = None) -> None:
        """Remove (forcefully); an absent container is success.

        With ``labels`` (removal by name), a container lacking those ``portal.*``
        labels is someone else's namesake: it is left alone, which is success too.
        """

    @abc.abstractmethod
    def container_status(self, engine_id: str) -> ContainerStatus:
        """The container's state. Raises ``ContainerNotFound``."""

    @abc.abstractmethod
    def containers_list(self) -> list[ContainerStatus]:
        """Every container on the engine, running or not, in one call."""

    @abc.abstractmethod
    def container_usage(self, engine_id: str) -> ContainerUsage:
        """One CPU and memory reading of a running container."""

    @abc.abstractmethod
    def container_logs(self, engine_id: str, tail: int) -> list[str]:
        """The last ``tail`` lines of output."""

    @abc.abstractmethod
    def container_logs_follow(
        self, engine_id: str, *, tail: int, seconds: float, line_max_bytes: int = 4096, max_bytes: int = 1024**2
    ) -> Iterator[str]:
        """The last ``tail`` lines, then new ones as soon as they come; ends after ``seconds``, when the
        container stops, or once ``max_bytes`` were read. A line longer than ``line_max_bytes`` is cut
        there (the rest of it is skipped), so a container printing no newline cannot grow a buffer."""

    @abc.abstractmethod
    def events(self, *, since: int, until: int | None = None) -> Iterator[EngineEvent]:
        """Container events from ``since``; blocks for new ones unless ``until`` is given."""

    @abc.abstractmethod
    def network_create(self, *, name: str, labels: dict[str, str]) -> EngineNetwork:
        """Create a user-defined bridge network unless one of that name exists; return it. Idempotent by name."""

    @abc.abstractmethod
    def network_remove(self, engine_id: str) -> None:
        """Remove a network; an absent one is success."""

    @abc.abstractmethod
    def network_connect(self, network_id: str, container_id: str) -> None:
        """Connect a container to a network; connected already is success."""

    @abc.abstractmethod
    def network_disconnect(self, network_id: str, container_id: str) -> None:
        """Disconnect a container from a network; not connected is success."""
