"""Container engine drivers. Only this package imports docker; everything else calls :func:`engine_for`."""

from containers.drivers.base import (
    ContainerEngine,
    ContainerNotFound,
    ContainerSpec,
    ContainerStatus,
    ContainerUsage,
    EngineError,
    EngineEvent,
    EngineFacts,
    EngineNetwork,
    EngineUnreachable,
    ImageInfo,
    PortMapping,
    UnsafeOptions,
)


def engine_for(base_url: str, tls: dict[str, str] | None = None) -> ContainerEngine:
    """The driver for an engine URL. Every engine we accept today is a Docker one."""
    from containers.drivers.docker_driver import DockerEngine

    return DockerEngine(base_url, tls)


__all__ = [
    "ContainerEngine",
    "ContainerNotFound",
    "ContainerSpec",
    "ContainerStatus",
    "ContainerUsage",
    "EngineError",
    "EngineEvent",
    "EngineFacts",
    "EngineNetwork",
    "EngineUnreachable",
    "ImageInfo",
    "PortMapping",
    "UnsafeOptions",
    "engine_for",
]
