"""Loading images into an engine from an uploaded tar: no registry needed, air-gapped sites included.

The upload is stored under ``MEDIA_ROOT`` and a job loads it on a worker; the
page that took the upload never talks to the engine.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from containers.choices import EngineJobAction
from containers.drivers import EngineUnreachable
from containers.engines.services import engine_of
from containers.models import ContainerImage, DockerHost
from portal.audit import audit_record
from portal.jobs import job_create, job_enqueue, job_step
from portal.models import Job, Team
from portal.operations import Operator, operate_run
from portal.permissions import require_decider

LOAD_TASK = "containers.tasks.image_load"


def upload_dir() -> Path:
    """Where uploaded image tars wait for their job."""
    path = Path(settings.MEDIA_ROOT) / "image-uploads"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def upload_size_check(upload: UploadedFile) -> None:
    """Refuse a tar over ``PORTAL_IMAGE_UPLOAD_MAX_BYTES``: uploads wait on the portal's disk for their job."""
    limit = settings.PORTAL_IMAGE_UPLOAD_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            f"The tar is {filesizeformat(upload.size)}; uploads may be at most {filesizeformat(limit)}."
        )


def image_load_request(
    *,
    actor: User | AnonymousUser,
    docker_host: DockerHost,
    upload: UploadedFile,
    mode: str,
    reference: str,
    teams: list[Team],
) -> Job:
    """Store an uploaded tar and queue the job that loads it into the engine. Portal administrators only.

    The stored file belongs to the job: the job removes it when it ends, and if
    the job is never committed (an error rolls the transaction back) it is
    removed here, so no tar is left behind without a job to load it.
    """
    require_decider(actor)
    upload_size_check(upload)
    path = upload_dir() / f"{uuid.uuid4()}.tar"
    try:
        with transaction.atomic():
            with path.open("wb") as target:
                for chunk in upload.chunks():
                    target.write(chunk)
            job = job_create(
                action=EngineJobAction.IMAGE_LOAD,
                team=None,
                requested_by=actor,
                target=docker_host,
                params={"path": str(path), "mode": mode, "reference": reference, "team_ids": [t.pk for t in teams]},
            )
            job_enqueue(job, LOAD_TASK)
            audit_record(actor=actor, action="image.upload", target=docker_host, detail=f"{upload.name} ({mode})")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return job


def image_load(*, job_id: int, final_attempt: bool = True) -> None:
    """Worker side: load the stored tar into the engine and list its images in the catalogue.

    Runs through the operations skeleton (``portal.operations``), so an engine
    that does not answer is retried with back-off like every other job; the
    tar is kept for the next attempt and removed once the job ends either way.
    """
    operate_run(IMAGE_LOADER, job_id=job_id, final_attempt=final_attempt)


def _load(job: Job, docker_host: DockerHost) -> str:
    path = Path(job.params["path"])
    if not path.exists():
        raise ValidationError("The uploaded tar is gone; upload it again.")
    job_step(job, f"Loading {path.name} into {docker_host} ({job.params['mode']})", 30)
    with engine_of(docker_host) as engine:
        references = engine.image_load(path=str(path), mode=job.params["mode"], reference=job.params["reference"])
        images = {ref: image for image in engine.images_list() for ref in image.references}
    job_step(job, "Adding the images to the catalogue", 80)
    teams = list(Team.objects.filter(pk__in=job.params.get("team_ids", [])))
    for reference in references:
        image = images.get(reference)
        row, _ = ContainerImage.objects.update_or_create(
            docker_host=docker_host,
            reference=reference,
            defaults={
                "image_id": image.image_id if image else "",
                "size_bytes": image.size_bytes if image else None,
                "present": True,
            },
        )
        row.offered_to.add(*teams)
    _discard_upload(job, docker_host)
    return f"Loaded {', '.join(references) or 'nothing'}"


def _discard_upload(job: Job, docker_host: DockerHost) -> None:
    """The tar belongs to its job: gone once the job ends, loaded or not."""
    Path(job.params["path"]).unlink(missing_ok=True)


IMAGE_LOADER = Operator(
    load=lambda job: DockerHost.objects.filter(pk=job.target_id).first(),
    operate=_load,
    unreachable=(EngineUnreachable,),
    noun="engine",
    where=lambda docker_host: f"Engine {docker_host.name}",
    undo=_discard_upload,
)
