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
from containers.engines.services import engine_of
from containers.models import ContainerImage, DockerHost
from portal.audit import audit_record
from portal.choices import FINISHED_JOB_STATES
from portal.jobs import job_create, job_enqueue, job_fail, job_start, job_step, job_succeed
from portal.models import Job, Team
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


def image_load(*, job_id: int) -> None:
    """Worker side: load the stored tar into the engine and list the images in the catalogue."""
    job = Job.objects.get(pk=job_id)
    if job.state in FINISHED_JOB_STATES:
        return
    job = job_start(job_id)
    path = Path(job.params["path"])
    try:
        docker_host = DockerHost.objects.get(pk=job.target_id)
        job_step(job, f"Loading {path.name} into {docker_host} ({job.params['mode']})", 30)
        with engine_of(docker_host) as engine:
            references = engine.image_load(path=str(path), mode=job.params["mode"], reference=job.params["reference"])
            images = {ref: image for image in engine.images_list() for ref in image.references}
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
    except Exception as error:  # noqa: BLE001 - a failed load must end its job with the reason
        job_fail(job, error)
    else:
        job_succeed(job, f"Loaded {', '.join(references) or 'nothing'}")
    finally:
        path.unlink(missing_ok=True)
