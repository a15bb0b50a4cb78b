"""What a lease does to a container: the system stops it at the lease's end and removes it after the grace.

Both go through the container's own actions (the same job, audit and busy check as a person's),
asked by the system (no actor). Each returns None when there is nothing left to do, so a second
run is harmless, and raises ``ActionRefused`` while another job works on it (the scan tries later).
"""

from __future__ import annotations

from django.db import transaction

from containers.choices import ContainerState
from containers.containers.actions import ACTIONS, OPERATE_TASK
from containers.models import Container
from portal.actions import ActionRefused, action_queue, resource_busy
from portal.models import Job
from portal.quotas import team_lock


def _locked_or_none(container_id: int) -> Container | None:
    team_id = Container.objects.filter(pk=container_id).values_list("team_id", flat=True).first()
    if team_id is None:
        return None
    team_lock(team_id)
    return Container.objects.select_for_update(of=("self",)).select_related("team").filter(pk=container_id).first()


def _queue(container: Container, slug: str, detail: str) -> Job:
    if resource_busy(container):
        raise ActionRefused("Another operation on this container is still running.")
    return action_queue(
        actor=None, team=container.team, resource=container, action=ACTIONS[slug], task=OPERATE_TASK,
        audit_prefix="container", params={"reason": detail},
    )  # fmt: skip


@transaction.atomic
def container_lease_stop(container_id: int, detail: str) -> Job | None:
    """Stop the container when it runs (or is paused or restarting); None when it is not running."""
    container = _locked_or_none(container_id)
    if container is None:
        return None
    if container.state == ContainerState.CREATING:
        raise ActionRefused("The container is still being created.")
    return _queue(container, "stop", detail) if container.state in ACTIONS["stop"].allowed_states else None


@transaction.atomic
def container_lease_delete(container_id: int, detail: str) -> Job | None:
    """Remove the container; None when it is already gone."""
    container = _locked_or_none(container_id)
    if container is None:
        return None
    if container.state not in ACTIONS["remove"].allowed_states:
        raise ActionRefused(f"A container that is {container.get_state_display().lower()} cannot be removed now.")
    return _queue(container, "remove", detail)
