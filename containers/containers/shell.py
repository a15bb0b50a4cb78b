"""A container's shell: what the shell websocket and page may ask of it, through the driver.

The consumer and the page are front doors; this module turns a container row into an
``exec`` on its engine and tells why a shell ended.
"""

from __future__ import annotations

from typing import Any

from containers.choices import ContainerState
from containers.containers.selectors import containers_for
from containers.drivers import ContainerNotFound, EngineError
from containers.drivers.shell import ContainerNotRunning, ExecShell, shell_open
from containers.engines.services import engine_of
from containers.models import Container
from portal.choices import ConsoleEnd
from portal.consumers import ConsoleUnavailable, Ended, Output
from portal.models import ConsoleTicket

#: What a container that does not run says instead of a shell.
NOT_RUNNING = "Start the container to open a shell in it."


def container_shell_find(user: Any, container_id: int) -> Container | None:
    """The container with this id among the user's teams' containers, or None."""
    return containers_for(user).filter(pk=container_id).first()


def container_shell_unavailable(container: Container) -> str:
    """Why a shell cannot open now (from the row), or empty when it may."""
    if not container.engine_id:
        return "This container has not been created yet."
    return "" if container.state == ContainerState.RUNNING else NOT_RUNNING


def container_shell_open(container: Container, *, output: Output, ended: Ended) -> ExecShell:
    """Start ``/bin/sh`` in the container. Raises ``ConsoleUnavailable`` with a message."""
    reason = container_shell_unavailable(container)
    if reason:
        raise ConsoleUnavailable(reason)
    try:
        return shell_open(engine_of(container.docker_host), container.engine_id, output=output, ended=ended)
    except (ContainerNotRunning, ContainerNotFound) as error:
        raise ConsoleUnavailable(NOT_RUNNING) from error
    except EngineError as error:
        raise ConsoleUnavailable(f"The shell could not be opened: {error}") from error


def container_shell_check(container: Container) -> str | None:
    """A ``ConsoleEnd`` value when the container was deleted or stopped since the shell opened, else None."""
    current = Container.objects.filter(pk=container.pk).values_list("state", flat=True).first()
    if current is None or current == ContainerState.MISSING:
        return ConsoleEnd.DELETED
    return None if current == ContainerState.RUNNING else ConsoleEnd.STOPPED


def container_shell_end_explain(container: Container, _ticket: ConsoleTicket, _reason: str) -> str:
    """The exec's socket closed: the container went away or stopped, or else the shell itself exited."""
    checked = container_shell_check(container)
    if checked is not None:
        return checked
    try:
        with engine_of(container.docker_host) as engine:
            state = engine.container_status(container.engine_id).state
    except ContainerNotFound:
        return ConsoleEnd.DELETED
    except EngineError:
        return ConsoleEnd.LOST
    return ConsoleEnd.EXITED if state == ContainerState.RUNNING else ConsoleEnd.STOPPED
