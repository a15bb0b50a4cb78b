"""Helpers for tests that use the real local Docker engine (unix socket) and the portal/busybox image.

Everything a test creates on the engine carries a unique prefix (the test team's
slug, ``<slug>.<name>``, or ``portal-test-<hex>`` for images) and is removed by
that prefix afterwards; nothing else on the engine is touched.
"""

from __future__ import annotations

import contextlib
import functools
import io
import socket
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker

from tests.support.stack import ROOT, require

#: The SDK's client class, taken before any test replaces it (``no_hypervisor``): cleanup must still work.
_DOCKER_CLIENT = docker.DockerClient

LOCAL_ENGINE = "unix:///var/run/docker.sock"
BUSYBOX = "portal/busybox:latest"
#: The static busybox scripts/build-container-image.sh packs into the image.
STATIC_BUSYBOX = Path("/bin/busybox")
#: What the image's /var/www/index.html says.
INDEX_TEXT = "<h1>portal busybox</h1>"


def docker_client() -> Any:
    """A docker SDK client of the local engine (the tests' own view of it, not the portal's)."""
    return _DOCKER_CLIENT(base_url=LOCAL_ENGINE, timeout=30)


@functools.cache
def engine_answers() -> bool:
    try:
        client = docker_client()
    except Exception:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def busybox_image_present() -> bool:
    """Whether portal/busybox:latest is on the engine; built by scripts/build-container-image.sh if not."""
    client = docker_client()
    try:
        with contextlib.suppress(Exception):
            client.images.get(BUSYBOX)
            return True
    finally:
        client.close()
    script = ROOT / "scripts" / "build-container-image.sh"
    return subprocess.run([str(script)], capture_output=True, timeout=300).returncode == 0


def require_engine(image: bool = True) -> None:
    """Skip (locally) or fail (in CI) without a Docker engine and, if asked, the busybox image."""
    require(engine_answers(), f"needs a Docker engine at {LOCAL_ENGINE}")
    if image:
        require(busybox_image_present(), f"needs the image {BUSYBOX} (scripts/build-container-image.sh)")


def unique(prefix: str = "ct") -> str:
    """A short unique slug-like name (lowercase letters and digits)."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def containers_named(prefix: str) -> list[str]:
    """Names of the containers (running or not) whose name starts with ``prefix``."""
    client = docker_client()
    try:
        return [c.name for c in client.containers.list(all=True, filters={"name": prefix}) if c.name.startswith(prefix)]
    finally:
        client.close()


def containers_remove(prefix: str) -> list[str]:
    """Remove (forcefully) every container whose name starts with ``prefix``; return their names."""
    client = docker_client()
    removed = []
    try:
        for container in client.containers.list(all=True, filters={"name": prefix}):
            if container.name.startswith(prefix):
                with contextlib.suppress(Exception):
                    container.remove(force=True)
                removed.append(container.name)
    finally:
        client.close()
    return removed


def networks_remove(prefix: str) -> list[str]:
    """Remove every network whose name starts with ``prefix`` (its containers gone first); return their names."""
    client = docker_client()
    removed = []
    try:
        for network in client.networks.list():
            if network.name.startswith(prefix):
                with contextlib.suppress(Exception):
                    network.remove()
                removed.append(network.name)
    finally:
        client.close()
    return removed


def image_remove(reference: str) -> None:
    """Remove an image reference a test made (only untags when another reference shares the image)."""
    client = docker_client()
    try:
        with contextlib.suppress(Exception):
            client.images.remove(reference)
    finally:
        client.close()


def inspect(name_or_id: str) -> dict[str, Any]:
    """``docker inspect`` of a container."""
    client = docker_client()
    try:
        return client.api.inspect_container(name_or_id)
    finally:
        client.close()


def exists(name_or_id: str) -> bool:
    try:
        inspect(name_or_id)
    except docker.errors.NotFound:
        return False
    return True


def engine_state(name_or_id: str) -> str:
    return inspect(name_or_id)["State"]["Status"]


def unpause_outside(name_or_id: str) -> None:
    subprocess.run(["docker", "unpause", name_or_id], check=True, capture_output=True, timeout=60)


def kill_outside(name_or_id: str) -> None:
    """``docker kill``, as someone on the engine's host would type it."""
    subprocess.run(["docker", "kill", name_or_id], check=True, capture_output=True, timeout=60)


def remove_outside(name_or_id: str) -> None:
    """``docker rm -f``, as someone on the engine's host would type it."""
    subprocess.run(["docker", "rm", "-f", name_or_id], check=True, capture_output=True, timeout=60)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now, above the ports the portal keeps for the host."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port >= 1024:
            return port


def rootfs_tar() -> bytes:
    """A root filesystem tar made from the static busybox, as scripts/build-container-image.sh makes it."""
    require(STATIC_BUSYBOX.exists(), f"needs a static busybox at {STATIC_BUSYBOX} (busybox-static)")
    buffer = io.BytesIO()

    def add_dir(archive: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.mode = tarfile.DIRTYPE, mode
        archive.addfile(info)

    def add_file(archive: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), mode
        archive.addfile(info, io.BytesIO(data))

    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for directory in ("bin", "etc", "root", "proc", "sys", "dev", "var", "var/www"):
            add_dir(archive, directory)
        add_dir(archive, "tmp", 0o1777)
        add_file(archive, "bin/busybox", STATIC_BUSYBOX.read_bytes(), 0o755)
        for applet in ("sh", "echo", "sleep", "httpd", "cat", "ls"):
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, "busybox", 0o777
            archive.addfile(info)
        add_file(archive, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
        add_file(archive, "etc/group", b"root:x:0:\n")
        add_file(archive, "var/www/index.html", f"{INDEX_TEXT}\n".encode())
    return buffer.getvalue()


def saved_image_tar(reference: str) -> bytes:
    """``docker save`` of portal/busybox under another reference (tagged for the save, untagged after)."""
    client = docker_client()
    try:
        image = client.images.get(BUSYBOX)
        repository, _, tag = reference.rpartition(":")
        image.tag(repository, tag)
        try:
            completed = subprocess.run(["docker", "save", reference], capture_output=True, check=True, timeout=120)
        finally:
            with contextlib.suppress(Exception):
                client.images.remove(reference)
        return completed.stdout
    finally:
        client.close()


def local_engine_for(team: Any) -> Iterator[Any]:
    """Body of a fixture: the local engine as a portal row, with portal/busybox offered to ``team``.

    The team's containers and networks (``<slug>.*``) are removed afterwards, whatever happened.
    """
    from containers.models import ContainerImage, DockerHost

    require_engine()
    docker_host = DockerHost.objects.create(name=f"local-{team.slug}", base_url=LOCAL_ENGINE, is_reachable=True)
    client = docker_client()
    try:
        image_id = client.images.get(BUSYBOX).id
    finally:
        client.close()
    image = ContainerImage.objects.create(docker_host=docker_host, reference=BUSYBOX, image_id=image_id)
    image.offered_to.add(team)
    try:
        yield docker_host
    finally:
        containers_remove(f"{team.slug}.")
        networks_remove(f"{team.slug}.")
