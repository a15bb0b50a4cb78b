"""The contract between the portal and a container engine (Docker).

Services and tasks call these methods; views and admin never do.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from types import TracebackType


class EngineError(Exception):
    """The engine refused or failed an operation. The message is fit to show a user."""


class EngineUnreachable(EngineError):
    """The engine did not answer. Worth retrying later."""


@dataclass(frozen=True)
class EngineFacts:
    """What a probe learnt of an engine. A fact it could not read is None or empty."""

    engine_version: str = ""
    cpus: int | None = None
    memory_mib: int | None = None


class ContainerEngine(abc.ABC):
    """One client of one engine. Use as a context manager; it closes on exit."""

    def __init__(self, base_url: str):
        self.base_url = base_url

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
