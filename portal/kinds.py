"""The registry of resource kinds: what each app contributes to the one request pipeline.

Requests, approvals, quotas, jobs and audit are the same for every kind. An app
that provides a kind (VMs in ``hypervisors``, containers in ``containers``)
registers a :class:`KindHandler` in its ``AppConfig.ready`` that tells the
pipeline the few things that differ. The portal app never imports those apps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from portal.models import ResourceRequest, Team
    from portal.quotas import Amounts


@dataclass(frozen=True)
class KindHandler:
    """What the pipeline needs to know about one kind of resource."""

    #: The ``ResourceKind`` value this handler serves.
    kind: str
    #: The quota field that counts resources of this kind ("vm_count").
    count_field: str
    #: Usage of live resources (not counted through an active request), by team id.
    live_usage: Callable[[Sequence[int]], dict[int, Amounts]]
    #: Whether the team already has a live resource of this kind with this name.
    name_in_use: Callable[[Team, str], bool]
    #: Called inside the approval transaction: creates the resource row the job
    #: will build (so its page exists at once) and returns it as the job's target.
    resource_create: Callable[[ResourceRequest], models.Model]
    #: The ``JobAction`` of the provisioning job.
    provision_action: str
    #: Name of the Celery task that provisions; it takes the job id.
    provision_task: str
    #: The Celery queue for the job building this resource (None: the default queue).
    provision_queue: Callable[[models.Model], str | None] = lambda _resource: None


_handlers: dict[str, KindHandler] = {}


def kind_register(handler: KindHandler) -> None:
    """Register a kind; called from an app's ``ready()``. Registering twice replaces."""
    _handlers[handler.kind] = handler


def kind_handler(kind: str) -> KindHandler:
    """The handler of a kind; a kind without one is a programming error."""
    try:
        return _handlers[kind]
    except KeyError:
        raise LookupError(f"No handler registered for resource kind {kind!r}") from None


def kind_handlers() -> list[KindHandler]:
    """All registered kinds."""
    return list(_handlers.values())
