"""Keeping container and image rows true: engine events, the periodic reconcile, load samples.

One ``containers.list(all=True)`` and one image list per engine correct any
drift; a container removed or killed outside the portal shows as such.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from containers.choices import ContainerState
from containers.containers.operations import container_state_record
from containers.drivers import ContainerEngine, ContainerStatus, EngineError, ImageInfo
from containers.engines.services import engine_of
from containers.models import Container, ContainerImage, ContainerStatSample, DockerHost
from portal.audit import audit_record
from portal.choices import AuditResult

logger = logging.getLogger(__name__)

#: Engine event actions after which a container's state is read again.
STATE_EVENTS = frozenset({"start", "die", "stop", "kill", "pause", "unpause", "restart", "oom", "destroy", "create"})


def container_state_observed(*, docker_host_id: int, engine_id: str, state: str) -> bool:
    """An engine reported a container's new state; store it. Returns whether a row changed."""
    container = (
        Container.objects.filter(docker_host_id=docker_host_id, engine_id=engine_id)
        .exclude(state=ContainerState.CREATING)
        .first()
    )
    if container is None or container.state == state:
        return False
    container_state_record(container, state)
    return True


@dataclass
class EngineReconcileReport:
    """What one reconcile of one engine found and changed."""

    reachable: bool = True
    containers: int = 0
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    samples: int = 0
    images: int = 0


def docker_host_reconcile(*, docker_host_id: int) -> EngineReconcileReport:
    """Read an engine's containers and images in one call each and make the rows agree."""
    docker_host = DockerHost.objects.get(pk=docker_host_id)
    report = EngineReconcileReport()
    try:
        with engine_of(docker_host) as engine:
            found = {status.engine_id: status for status in engine.containers_list()}
            images = engine.images_list()
            running = list(
                Container.objects.filter(docker_host=docker_host, state=ContainerState.RUNNING).exclude(engine_id="")
            )
            samples = _samples(engine, running, found)
    except EngineError as error:
        docker_host.mark_unreachable(error)
        report.reachable = False
        return report
    now = timezone.now()
    report.containers = len(found)
    with transaction.atomic():
        docker_host.mark_reconciled(now)
        _reconcile_containers(docker_host, found, now, report)
        _reconcile_images(docker_host, images, now, report)
        ContainerStatSample.objects.bulk_create(samples)
        report.samples = len(samples)
    return report


def _samples(
    engine: ContainerEngine, running: list[Container], found: dict[str, ContainerStatus]
) -> list[ContainerStatSample]:
    """One CPU and memory reading of each running container (the engine has no bulk stats call)."""
    now = timezone.now()
    samples = []
    for container in running:
        if container.engine_id not in found:
            continue
        try:
            usage = engine.container_usage(container.engine_id)
        except EngineError as error:
            logger.info("No stats for %s: %s", container, error)
            continue
        cpu = usage.cpu_percent / float(container.cpus) if usage.cpu_percent is not None else None
        samples.append(
            ContainerStatSample(
                container=container, taken_at=now, cpu_percent=cpu, memory_used_kib=usage.memory_used_kib
            )
        )
    return samples


def _reconcile_containers(
    docker_host: DockerHost, found: dict[str, ContainerStatus], now: datetime, report: EngineReconcileReport
) -> None:
    changed = []
    for container in Container.objects.filter(docker_host=docker_host).select_related("team"):
        if container.state == ContainerState.CREATING:
            continue
        status = found.get(container.engine_id)
        new_state = ContainerState.MISSING if status is None else status.state
        if container.state != new_state:
            container.state, container.state_changed_at = new_state, now
            changed.append(container)
            if new_state == ContainerState.MISSING:
                report.missing.append(str(container))
                audit_record(
                    actor=None, action="container.missing", target=container, team=container.team,
                    result=AuditResult.FAILURE, detail=f"{container.engine_name} is no longer on {docker_host}.",
                )  # fmt: skip
    Container.objects.bulk_update(changed, ["state", "state_changed_at"])
    report.changed = [str(c) for c in changed]


def _reconcile_images(
    docker_host: DockerHost, images: list[ImageInfo], now: datetime, report: EngineReconcileReport
) -> None:
    """Mark which catalogue images are present; list new ones (offered to nobody until an admin says so)."""
    present = {reference: image for image in images for reference in image.references if reference != "<none>:<none>"}
    known = {row.reference: row for row in ContainerImage.objects.filter(docker_host=docker_host)}
    for reference, image in present.items():
        row = known.get(reference)
        if row is None:
            ContainerImage.objects.create(
                docker_host=docker_host, reference=reference, image_id=image.image_id, size_bytes=image.size_bytes,
                last_seen_at=now,
            )  # fmt: skip
        elif not row.present or row.image_id != image.image_id:
            row.present, row.image_id, row.size_bytes = True, image.image_id, image.size_bytes
            row.save(update_fields=["present", "image_id", "size_bytes"])
    ContainerImage.objects.filter(docker_host=docker_host).exclude(reference__in=list(present)).update(present=False)
    ContainerImage.objects.filter(docker_host=docker_host, reference__in=list(present)).update(last_seen_at=now)
    report.images = len(present)
