"""Jobs: create the row, enqueue its task after commit, and record a worker's progress in it.

A job's row is the only channel between a worker and the browser. A step is
saved before the work it names (outside any long transaction), so a page polling
the job sees it while that work runs; steps that follow one another with no work
between them are saved together, in one write.
"""

from __future__ import annotations

import logging
import traceback

from celery import current_app as celery_app
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from portal.choices import JobState
from portal.kinds import job_action_validate
from portal.models import Job, ResourceRequest, Team
from portal.queues import queue_for

logger = logging.getLogger(__name__)

#: Longest error text kept in a job row.
ERROR_LIMIT = 4000
#: Longest traceback kept (its last part: where it ended).
TRACEBACK_LIMIT = 20000


class RetryLater(Exception):
    """The host did not answer; the task should try again later (the job stays running)."""


def job_create(
    *,
    action: str,
    team: Team | None,
    requested_by: User | AnonymousUser | None,
    target: models.Model | None,
    request: ResourceRequest | None = None,
    params: dict[str, object] | None = None,
    queue_target: models.Model | None = None,
) -> Job:
    """Create a queued job row; call :func:`job_enqueue` to have a worker run it.

    The job's queue is chosen here, once, from its target (or ``queue_target``
    when the work runs elsewhere than the target says, e.g. a host's probe);
    see ``portal.queues``. An action no app registered is a programming error.
    """
    job_action_validate(action)
    return Job.objects.create(
        action=action,
        queue=queue_for(queue_target if queue_target is not None else target) or "",
        params=params or {},
        team=team,
        request=request,
        requested_by=requested_by if requested_by is not None and requested_by.is_authenticated else None,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        log=[_log_entry("Queued")],
    )


def job_enqueue(job: Job, task_name: str) -> None:
    """Send the job's task once the current transaction commits, under the job's own task id and queue.

    The worker must never see a job that the database does not have yet, hence
    ``on_commit``; the task id is fixed at creation so nothing is written after.
    """

    def send() -> None:
        task = celery_app.tasks[task_name]
        if job.queue:
            task.apply_async(args=(job.pk,), task_id=str(job.celery_task_id), queue=job.queue)
        else:
            task.apply_async(args=(job.pk,), task_id=str(job.celery_task_id))

    transaction.on_commit(send)


def _log_entry(message: str) -> dict[str, str]:
    return {"time": timezone.now().isoformat(timespec="seconds"), "message": message}


def job_start(job: int | Job, *, first_step: tuple[str, int] | None = None) -> Job:
    """Mark a job running and return it. A redelivered job (worker lost) starts again from the top.

    Takes the job's id, or the row the caller already loaded (one read fewer). ``first_step``
    (message, progress) is recorded in the same write, before the work it names begins.
    """
    job = job if isinstance(job, Job) else Job.objects.get(pk=job)
    if job.state == JobState.RUNNING:
        retrying = bool(job.log) and job.log[-1].get("message", "").endswith("trying again later")
        job.log.append(_log_entry("Trying again" if retrying else "Restarted after an interrupted run"))
    job.state = JobState.RUNNING
    job.started_at = job.started_at or timezone.now()
    fields = ["state", "started_at", "log"]
    if first_step is not None:
        job_step(job, *first_step, save=False)
        fields.append("progress")
    job.save(update_fields=fields)
    return job


def job_step(job: Job, message: str, progress: int, *, save: bool = True) -> None:
    """Record a step: a log line and the progress reached (0-100).

    ``save=False`` keeps the step in memory until the job's next write; only for a
    step that another follows at once, with no remote call in between, so no
    polling page can miss it for longer than a few milliseconds.
    """
    job.log.append(_log_entry(message))
    job.progress = max(0, min(100, progress))
    if save:
        job.save(update_fields=["log", "progress"])


def job_succeed(job: Job, message: str = "Done") -> None:
    """Mark a job finished successfully."""
    job.log.append(_log_entry(message))
    job.state = JobState.SUCCEEDED
    job.progress = 100
    job.finished_at = timezone.now()
    job.save(update_fields=["log", "state", "progress", "finished_at"])


def error_text(error: BaseException) -> str:
    """An exception as a sentence for people: a ValidationError's messages, not its list repr."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or error.__class__.__name__


def job_fail(job: Job, error: str | BaseException) -> None:
    """Mark a job failed with a readable error.

    The traceback of an exception is kept in the row (for administrators, in
    Django admin) and in the log; pages show only the readable error.
    """
    if isinstance(error, BaseException):
        job.traceback = "".join(traceback.format_exception(error))[-TRACEBACK_LIMIT:]
        logger.error("Job %s failed:\n%s", job.pk, job.traceback)
        text = error_text(error)
    else:
        text = error
    job.log.append(_log_entry(f"Failed: {text}"))
    job.state = JobState.FAILED
    job.error = text[:ERROR_LIMIT]
    job.finished_at = timezone.now()
    # started_at too: a start rolled back with a refused quota check is written here (portal.provisioning).
    job.save(update_fields=["log", "state", "error", "traceback", "started_at", "finished_at"])
