"""The Docker engine driver, through the docker SDK."""

from __future__ import annotations

import docker
from docker.errors import DockerException

from containers.drivers.base import ContainerEngine, EngineFacts, EngineUnreachable

#: Seconds to wait for an engine before calling it unreachable.
TIMEOUT = 10


class DockerEngine(ContainerEngine):
    """A Docker engine by local socket, ``ssh://`` or ``tcp://``. The client connects on first use."""

    def __init__(self, base_url: str):
        super().__init__(base_url)
        self._client: docker.DockerClient | None = None

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            try:
                self._client = docker.DockerClient(base_url=self.base_url, timeout=TIMEOUT)
            except DockerException as error:
                raise EngineUnreachable(str(error)) from error
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def probe(self) -> EngineFacts:
        try:
            info = self.client.info()
        except DockerException as error:
            raise EngineUnreachable(str(error)) from error
        memory = info.get("MemTotal")
        return EngineFacts(
            engine_version=str(info.get("ServerVersion", "")),
            cpus=info.get("NCPU"),
            memory_mib=int(memory) // (1024 * 1024) if memory else None,
        )
