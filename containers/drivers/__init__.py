"""Container engine drivers. Only this package imports docker; everything else calls :func:`engine_for`."""

from containers.drivers.base import ContainerEngine, EngineError, EngineFacts, EngineUnreachable


def engine_for(base_url: str) -> ContainerEngine:
    """The driver for an engine URL. Every engine we accept today is a Docker one."""
    from containers.drivers.docker_driver import DockerEngine

    return DockerEngine(base_url)


__all__ = ["ContainerEngine", "EngineError", "EngineFacts", "EngineUnreachable", "engine_for"]
