"""The skeleton every provisioning job follows, whatever the kind of resource.

A kind supplies how to load its resource row, build it on its host or engine,
and clean up after a failure. The skeleton does the rest the same way for all:
a last quota check, the request's moves, retries while the host does not answer,
and the recovery of a run whose worker died (the task is delivered again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db import models, transaction

from portal.choices import FINISHED_JOB_STATES, RequestState
from portal.jobs import RetryLater, error_text, job_fail, job_start, job_step, job_succeed
from portal.models import Job, ResourceRequest
from portal.services import request_fail, request_fulfill, request_provisioning_start

logger = logging.getLogger(__name__)

ResourceT = TypeVar("ResourceT", bound=models.Model)


@dataclass(frozen=True)
class Builder(Generic[ResourceT]):
    """What one kind contributes to the skeleton."""

    #: The resource row the job builds, or None if an earlier run's cleanup removed it.
    load: Callable[[Job], ResourceT | None]
    #: Build it (idempotent steps, each recorded with ``job_step``); return the closing message.
    build: Callable[[Job, ResourceT], str]
    #: Remove whatever a failed build made, on the host and in the database.
    cleanup: Callable[[Job, ResourceT], None]
    #: Errors that mean "the host did not answer": retried while attempts remain.
    unreachable: tuple[type[Exception], ...]


def provision_run(builder: Builder[ResourceT], *, job_id: int, final_attempt: bool) -> None:
    """Run a provisioning job. Never raises for a failed build; raises ``RetryLater`` to be retried.

    Database round trips and commits are kept few, as each costs the user time while they wait:
    the job and its request's state come in one read, and the start is committed with the
    quota check.
    """
    job = Job.objects.select_related("request").get(pk=job_id)
    if job.state in FINISHED_JOB_STATES:
        logger.info("Job %s already finished; nothing to do", job_id)
        return
    assert job.request is not None
    request_state = job.request.state
    resource = builder.load(job)
    if _finish_interrupted_run(job, resource, request_state):
        return
    assert resource is not None
    try:
        # No host is called before the quota check, so the start and the check share one commit
        # (a refused quota rolls the start back; ``job_fail`` writes it with the failure).
        with transaction.atomic():
            job_start(job, first_step=("Checking the team's quota", 5))
            request_provisioning_start(request_id=job.request.pk, team_id=job.request.team_id)
        message = builder.build(job, resource)
        # Two commits on purpose: a worker lost between them leaves a fulfilled request, which the
        # redelivered task closes without touching the live resource (``_finish_interrupted_run``).
        request_fulfill(request_id=job.request.pk, team_id=job.request.team_id)
        job_succeed(job, message)
    except builder.unreachable as error:
        if not final_attempt:
            job_step(job, f"The host did not answer ({error}); trying again later", job.progress)
            raise RetryLater(str(error)) from error
        _give_up(builder, job, resource, error)
    except Exception as error:  # noqa: BLE001 - every failure must free the quota and clean up
        _give_up(builder, job, resource, error)


def _give_up(builder: Builder[ResourceT], job: Job, resource: ResourceT, error: Exception) -> None:
    """End a failed build: remove what it made, free the quota, say why."""
    assert job.request_id is not None
    builder.cleanup(job, resource)
    request_fail(request_id=job.request_id, reason=error_text(error))
    job_fail(job, error)


def _finish_interrupted_run(job: Job, resource: models.Model | None, state: str) -> bool:
    """Close a job whose earlier run got past its last step before its worker died; True if it did.

    The request's state tells how far that run went: fulfilled means the resource
    is live (it must not be touched); failed, or a resource row already removed,
    means the cleanup ran. Either way nothing is left to build.
    """
    assert job.request_id is not None
    if state not in (RequestState.FULFILLED, RequestState.FAILED) and resource is not None:
        return False
    job_start(job)
    if state == RequestState.FULFILLED:
        job_succeed(job, "Built by an earlier, interrupted run")
        return True
    if state == RequestState.FAILED or resource is None:
        reason = "The build failed and its partial resources were removed by an earlier, interrupted run"
        request_fail(request_id=job.request_id, reason=reason)
        job_fail(job, ResourceRequest.objects.get(pk=job.request_id).failure_reason or reason)
        return True
    return False
