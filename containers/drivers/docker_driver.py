"""The Docker engine driver, through the docker SDK (low-level API where it saves round trips)."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.tls import TLSConfig
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

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
)
from containers.drivers.options import create_options

#: Seconds to wait for an engine before calling it unreachable.
TIMEOUT = 15
#: The API version each engine answered with, so later clients skip asking (one round trip per task).
_API_VERSIONS: dict[str, str] = {}
#: Engine states as the portal's container states ("created" has never run: stopped).
STATE_NAMES = {
    "created": "exited",
    "running": "running",
    "paused": "paused",
    "restarting": "restarting",
    "removing": "exited",
    "exited": "exited",
    "dead": "dead",
}

P = ParamSpec("P")
R = TypeVar("R")


#: The engine's answer to a create whose name is taken.
HTTP_CONFLICT = 409


def translate_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Turn docker SDK errors into the contract's errors, with the engine's own message."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (NotFound, ImageNotFound) as error:
            raise ContainerNotFound(_message(error)) from error
        except APIError as error:
            raise EngineError(_message(error)) from error
        except (RequestsConnectionError, ReadTimeout) as error:
            raise EngineUnreachable(str(error)) from error
        except DockerException as error:
            raise EngineUnreachable(str(error)) from error

    return wrapper


def _message(error: APIError) -> str:
    explanation = getattr(error, "explanation", None)
    return str(explanation or error)


class DockerEngine(ContainerEngine):
    """A Docker engine by local socket, ``ssh://`` or ``tcp://`` with TLS. The client connects on first use."""

    def __init__(self, base_url: str, tls: dict[str, str] | None = None):
        super().__init__(base_url, tls)
        self._client: docker.DockerClient | None = None
        self._tls_dir: str | None = None

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            try:
                self._client = docker.DockerClient(
                    base_url=self.base_url,
                    version=_API_VERSIONS.get(self.base_url, "auto"),
                    timeout=TIMEOUT,
                    tls=self._tls_config(),
                    use_ssh_client=self.base_url.startswith("ssh://"),
                )
                _API_VERSIONS[self.base_url] = self._client.api.api_version
            except DockerException as error:
                raise EngineUnreachable(str(error)) from error
        return self._client

    def _tls_config(self) -> TLSConfig | bool:
        """TLS settings from the stored material, written to a private directory for the client's lifetime.

        The engine's certificate is always verified against the stored CA: TLS
        without verification would hand the client key and every container's
        environment to whoever answers on that address.
        """
        if not self.tls.get("client_certificate"):
            if self.base_url.startswith("tcp://"):
                raise EngineError("A tcp:// engine is reached only over TLS, with its CA certificate.")
            return False
        if not self.tls.get("ca_certificate"):
            raise EngineError("The engine's CA certificate is missing: TLS without it would not verify the engine.")
        self._tls_dir = tempfile.mkdtemp(prefix="portal-tls-")
        paths = {}
        for key in ("ca_certificate", "client_certificate", "client_key"):
            path = Path(self._tls_dir) / f"{key}.pem"
            path.touch(mode=0o600)
            path.write_text(self.tls.get(key, ""))
            paths[key] = str(path)
        return TLSConfig(
            client_cert=(paths["client_certificate"], paths["client_key"]), ca_cert=paths["ca_certificate"], verify=True
        )

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None

    @translate_errors
    def probe(self) -> EngineFacts:
        info = self.client.info()
        memory = info.get("MemTotal")
        return EngineFacts(
            engine_version=str(info.get("ServerVersion", "")),
            cpus=info.get("NCPU"),
            memory_mib=int(memory) // (1024 * 1024) if memory else None,
        )

    @translate_errors
    def images_list(self) -> list[ImageInfo]:
        return [
            ImageInfo(image_id=row["Id"], references=list(row.get("RepoTags") or []), size_bytes=row.get("Size"))
            for row in self.client.api.images()
        ]

    @translate_errors
    def image_load(self, *, path: str, mode: str, reference: str = "") -> list[str]:
        if mode == "import":
            if not reference:
                raise EngineError("Importing a root filesystem needs a repository:tag name.")
            repository, _, tag = reference.rpartition(":") if ":" in reference else (reference, "", "latest")
            self.client.api.import_image_from_file(path, repository=repository, tag=tag or "latest")
            return [f"{repository}:{tag or 'latest'}"]
        with open(path, "rb") as archive:
            images = self.client.images.load(archive)
        return [tag for image in images for tag in image.tags]

    def _container(self, engine_id: str) -> Any:
        return self.client.containers.get(engine_id)

    @translate_errors
    def container_create(self, spec: ContainerSpec) -> str:
        # Create first and look the name up only when the engine says it is taken (a retried
        # task): the first try, by far the usual one, costs no extra round trip.
        options = create_options(spec)
        try:
            container = self.client.containers.create(**options)
        except APIError as error:
            if error.status_code != HTTP_CONFLICT:
                raise
            # The name is taken: ours from an earlier run (a redelivered task), or someone else's.
            try:
                existing = self._container(spec.name)
            except NotFound:
                raise error from None
            if not labels_match(existing.labels, spec.labels):
                raise EngineError(
                    f"A container named {spec.name} already exists on the engine and was not made for this "
                    "resource; it is left alone. Remove or rename it on the engine, then retry."
                ) from None
            return str(existing.id)
        return str(container.id)

    @translate_errors
    def container_start(self, engine_id: str) -> None:
        # The engine answers "not modified" for a running container: no need to inspect it first.
        self.client.api.start(engine_id)

    @translate_errors
    def container_stop(self, engine_id: str, timeout: int = 10) -> None:
        container = self._container(engine_id)
        if container.status in ("running", "paused", "restarting"):
            container.stop(timeout=timeout)

    @translate_errors
    def container_restart(self, engine_id: str, timeout: int = 10) -> None:
        self._container(engine_id).restart(timeout=timeout)

    @translate_errors
    def container_pause(self, engine_id: str) -> None:
        container = self._container(engine_id)
        if container.status == "running":
            container.pause()

    @translate_errors
    def container_unpause(self, engine_id: str) -> None:
        container = self._container(engine_id)
        if container.status == "paused":
            container.unpause()

    @translate_errors
    def container_remove(self, engine_id: str, *, labels: dict[str, str] | None = None) -> None:
        with contextlib.suppress(NotFound):
            container = self._container(engine_id)
            if labels is not None and not labels_match(container.labels, labels):
                return  # a namesake someone else made: ours is not there
            container.remove(force=True)

    @translate_errors
    def container_status(self, engine_id: str) -> ContainerStatus:
        container = self._container(engine_id)
        return ContainerStatus(
            engine_id=str(container.id),
            name=str(container.name),
            state=STATE_NAMES.get(container.status, "unknown"),
            labels=dict(container.labels or {}),
        )

    @translate_errors
    def containers_list(self) -> list[ContainerStatus]:
        return [
            ContainerStatus(
                engine_id=row["Id"],
                name=(row.get("Names") or ["/"])[0].lstrip("/"),
                state=STATE_NAMES.get(row.get("State", ""), "unknown"),
                labels=dict(row.get("Labels") or {}),
            )
            for row in self.client.api.containers(all=True)
        ]

    @translate_errors
    def container_usage(self, engine_id: str) -> ContainerUsage:
        stats = self.client.api.stats(engine_id, stream=False)
        return usage_from_stats(stats)

    @translate_errors
    def container_logs(self, engine_id: str, tail: int) -> list[str]:
        output = self._container(engine_id).logs(tail=tail, stdout=True, stderr=True)
        return output.decode(errors="replace").splitlines()

    def container_logs_follow(
        self, engine_id: str, *, tail: int, seconds: float, line_max_bytes: int = 4096, max_bytes: int = 1024**2
    ) -> Iterator[str]:
        try:
            stream = self._container(engine_id).logs(stream=True, follow=True, tail=tail, stdout=True, stderr=True)
            # A quiet container sends nothing, so the deadline cannot wait for the next line: close the stream.
            timer = threading.Timer(seconds, stream.close)
            timer.daemon = True
            timer.start()
            lines = LineCutter(line_max_bytes)
            read = 0
            try:
                for chunk in stream:
                    read += len(chunk)
                    yield from lines.feed(chunk)
                    if read >= max_bytes:
                        yield f"[portal] stopped following after {max_bytes} bytes of output; follow again for more"
                        break
            except (OSError, ValueError, AttributeError):
                pass  # the stream was closed under the reader at the deadline
            finally:
                timer.cancel()
                stream.close()
            yield from lines.rest()
        except NotFound as error:
            raise ContainerNotFound(_message(error)) from error
        except DockerException as error:
            raise EngineUnreachable(str(error)) from error

    def events(self, *, since: int, until: int | None = None) -> Iterator[EngineEvent]:
        try:
            for event in self.client.events(since=since, until=until, filters={"type": "container"}, decode=True):
                yield EngineEvent(engine_id=event.get("id", ""), action=event.get("Action") or event.get("status", ""))
        except DockerException as error:
            raise EngineUnreachable(str(error)) from error
        except RequestsConnectionError as error:
            raise EngineUnreachable(str(error)) from error

    @translate_errors
    def network_create(self, *, name: str, labels: dict[str, str]) -> EngineNetwork:
        existing = self.client.api.networks(names=[name])
        match = next((row for row in existing if row.get("Name") == name), None)
        if match is None:
            created = self.client.api.create_network(name, driver="bridge", labels=labels, check_duplicate=True)
            match = self.client.api.inspect_network(created["Id"])
        configs = (match.get("IPAM") or {}).get("Config") or []
        return EngineNetwork(engine_id=match["Id"], name=name, subnet=(configs[0].get("Subnet", "") if configs else ""))

    @translate_errors
    def network_remove(self, engine_id: str) -> None:
        with contextlib.suppress(NotFound):
            self.client.api.remove_network(engine_id)

    @translate_errors
    def network_connect(self, network_id: str, container_id: str) -> None:
        attached = self.client.api.inspect_network(network_id).get("Containers") or {}
        if container_id not in attached:
            self.client.api.connect_container_to_network(container_id, network_id)

    @translate_errors
    def network_disconnect(self, network_id: str, container_id: str) -> None:
        attached = self.client.api.inspect_network(network_id).get("Containers") or {}
        if container_id in attached:
            self.client.api.disconnect_container_from_network(container_id, network_id)


class LineCutter:
    """Splits a byte stream into lines, cutting any line at ``limit`` bytes and skipping the rest of it."""

    def __init__(self, limit: int):
        self.limit = limit
        self.buffer = b""
        self.skipping = False

    def feed(self, chunk: bytes) -> Iterator[str]:
        """The complete lines ``chunk`` ends, and the cut head of any line that grew past the limit."""
        self.buffer += chunk
        *complete, self.buffer = self.buffer.split(b"\n")
        for line in complete:
            if self.skipping:
                self.skipping = False
                continue
            yield self._text(line)
        if len(self.buffer) > self.limit:
            if not self.skipping:
                yield self._text(self.buffer) + " [cut]"
            self.buffer, self.skipping = b"", True

    def rest(self) -> Iterator[str]:
        """What is left when the stream ends: a last line without its newline."""
        if self.buffer and not self.skipping:
            yield self._text(self.buffer)
        self.buffer = b""

    def _text(self, line: bytes) -> str:
        return line[: self.limit].decode(errors="replace")


def labels_match(found: dict[str, str] | None, expected: dict[str, str]) -> bool:
    """Whether a container carries every ``portal.*`` label the portal gave it (names alone prove nothing)."""
    found = found or {}
    owned = {key: value for key, value in expected.items() if key.startswith("portal.")}
    return bool(owned) and all(found.get(key) == value for key, value in owned.items())


def usage_from_stats(stats: dict[str, Any]) -> ContainerUsage:
    """CPU as a percent of the container's CPU limit, and memory in use less page cache, from one stats read."""
    cpu, previous = stats.get("cpu_stats", {}), stats.get("precpu_stats", {})
    cpu_delta = cpu.get("cpu_usage", {}).get("total_usage", 0) - previous.get("cpu_usage", {}).get("total_usage", 0)
    system_delta = cpu.get("system_cpu_usage", 0) - previous.get("system_cpu_usage", 0)
    online = cpu.get("online_cpus") or os.cpu_count() or 1
    percent = 100.0 * cpu_delta / system_delta * online if system_delta > 0 and cpu_delta >= 0 else None
    memory = stats.get("memory_stats", {})
    usage = memory.get("usage")
    cache = memory.get("stats", {}).get("inactive_file", memory.get("stats", {}).get("cache", 0))
    return ContainerUsage(
        cpu_percent=percent,
        memory_used_kib=(usage - cache) // 1024 if usage is not None else None,
    )
