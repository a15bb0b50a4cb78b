"""The skeleton every job on a live resource follows (start a VM, stop a container, delete a network...).

A kind supplies how to load the resource, do the operation, and what a missing
resource means; the skeleton records the job's start and end, retries while the
host does not answer, and fails the job with a readable reason otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db import models

from portal.choices import FINISHED_JOB_STATES
from portal.jobs import RetryLater, job_fail, job_start, job_step, job_succeed
from portal.models import Job

ResourceT = TypeVar("ResourceT", bound=models.Model)


@dataclass(frozen=True)
class Operator(Generic[ResourceT]):
    """What one kind of resource contributes to the skeleton."""

    #: The resource the job acts on, or None if it is gone.
    load: Callable[[Job], ResourceT | None]
    #: Do the job's action (idempotent); return the closing message.
    operate: Callable[[Job, ResourceT], str]
    #: Errors that mean "the host did not answer": retried while attempts remain.
    unreachable: tuple[type[Exception], ...]
    #: How messages name the resource ("VM") and the place that did not answer ("Host kvm1").
    noun: str
    where: Callable[[ResourceT], str]
    #: The action for which a resource already gone means the job is done (a redelivered delete), and its verb.
    delete_action: str = ""
    delete_verb: str = "deleted"
    #: Undo database changes made for the action when it fails (resize, attach...).
    undo: Callable[[Job, ResourceT], None] | None = None


def operate_run(operator: Operator[ResourceT], *, job_id: int, final_attempt: bool) -> None:
    """Run a job on a live resource. Raises ``RetryLater`` when the host is unreachable and retries remain."""
    job = Job.objects.get(pk=job_id)
    if job.state in FINISHED_JOB_STATES:
        return
    job = job_start(job_id)
    resource = operator.load(job)
    if resource is None:
        if job.action == operator.delete_action:
            job_succeed(job, f"The {operator.noun} was {operator.delete_verb} by an earlier, interrupted run")
        else:
            job_fail(job, f"The {operator.noun} no longer exists.")
        return
    try:
        message = operator.operate(job, resource)
    except operator.unreachable as error:
        if not final_attempt:
            job_step(job, f"{operator.where(resource)} did not answer ({error}); trying again later", job.progress)
            raise RetryLater(str(error)) from error
        _failed(operator, job, resource, error)
    except Exception as error:  # noqa: BLE001 - a failed action must end its job with the reason
        _failed(operator, job, resource, error)
    else:
        job_succeed(job, message)


def _failed(operator: Operator[ResourceT], job: Job, resource: ResourceT, error: Exception) -> None:
    if operator.undo is not None:
        operator.undo(job, resource)
    job_fail(job, error)
