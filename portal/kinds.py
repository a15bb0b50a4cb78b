"""The registry of resource kinds: what each app contributes to the one request pipeline.

Requests, approvals, quotas, jobs and audit are the same for every kind. An app
that provides a kind (VMs and VM networks in ``hypervisors``, containers and
container networks in ``containers``) registers a :class:`KindHandler` in its
``AppConfig.ready`` that tells the pipeline the few things that differ, and
registers the job actions it runs. The base never imports those apps: it asks
this registry, so a new kind needs no change (and no migration) of ``portal``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import Count, Q, Sum

from portal.amounts import Amounts

if TYPE_CHECKING:
    from portal.models import ResourceRequest, Team


@dataclass(frozen=True)
class KindHandler:
    """What the pipeline needs to know about one kind of resource."""

    #: The value stored in ``ResourceRequest.kind`` ("vm").
    kind: str
    #: How people call it ("Virtual machine").
    label: str
    #: The model of the live resource; a :class:`portal.models.TeamResource`. None for a kind that
    #: leaves no resource of its own behind (a quota change, a lease extension).
    model: type[models.Model] | None
    #: The quota field that counts resources of this kind ("vm_count"); "" when it counts against none.
    count_field: str
    #: Which quota amounts a live resource takes, as ``{amount field: model field}``.
    sizes: dict[str, str]
    #: Called inside the approval transaction: creates the resource row the job
    #: will build (so its page exists at once) and returns it as the job's target.
    #: None for a kind ``applied_at_approval``.
    resource_create: Callable[[ResourceRequest], models.Model] | None
    #: The job action of the provisioning job ("" when no job runs).
    provision_action: str
    #: Name of the Celery task that provisions; it takes the job id ("" when no job runs).
    provision_task: str
    #: The address of a resource's page.
    resource_url: Callable[[models.Model], str]
    #: The job actions of this kind: value -> label.
    job_actions: dict[str, str] = field(default_factory=dict)
    #: The template of the resource's live status fragment (htmx swaps it in).
    status_template: str = ""
    #: How the request's sizes read in lists ("vCPU" or "CPU").
    cpu_unit: str = "CPU"
    #: What live resources of this kind hold besides their own sizes (a VM's snapshots),
    #: by team: called with team ids, one grouped query, added to :meth:`live_usage`.
    extra_usage: Callable[[Sequence[int]], dict[int, Amounts]] | None = None
    #: Live rows that no quota counts (a team's own network, made by the portal rather than asked for).
    uncounted: Q | None = None
    #: The model of the image an ask of this kind names in ``spec["image_id"]``; None when it names none.
    #: Auto-approval policies offer its rows on their image allowlist.
    image_model: type[models.Model] | None = None
    #: The model of the networks an ask of this kind names in ``spec["network_ids"]``; None when it
    #: names none (the resource joins its team's own network). Policies offer its rows on their network allowlist.
    network_model: type[models.Model] | None = None
    #: A kind whose approval is the whole change (no resource made, no job: a quota change, a lease
    #: extension): called inside the approval transaction, after the request's team is locked; it raises
    #: ``ValidationError`` to refuse the approval. The request is then fulfilled at once.
    applied_at_approval: Callable[[ResourceRequest], object] | None = None
    #: Called inside the transaction of an approval or rejection, after the request row says which:
    #: tells the people the kind's decision concerns (the requester is not the only one who cares).
    on_decision: Callable[[ResourceRequest], None] | None = None
    #: How an ask of this kind reads in lists when sizes do not say it ("vCPUs 8; Memory 4096 MiB").
    ask_text: Callable[[ResourceRequest], str] | None = None
    #: Leases: queue the job that stops a resource whose lease ended (as the system, through the
    #: kind's own action service), and the one that deletes it after the grace period. Each takes
    #: the resource's id and the audit detail, and returns the job, or None when there is nothing
    #: to do (already stopped, already gone). A kind without them has no leases.
    lease_stop: Callable[[int, str], models.Model | None] | None = None
    lease_delete: Callable[[int, str], models.Model | None] | None = None

    @property
    def has_leases(self) -> bool:
        """Whether resources of this kind can carry a lease (the kind knows how to stop and delete them)."""
        return self.model is not None and self.lease_stop is not None and self.lease_delete is not None

    @property
    def request_related(self) -> str:
        """How a request reaches its resource (the reverse of ``TeamResource.request``); "" for a kind without one."""
        if self.model is None:
            return ""
        return self.model._meta.get_field("request").remote_field.related_name  # type: ignore[union-attr,return-value]

    def live_usage(self, team_ids: Sequence[int]) -> dict[int, Amounts]:
        """Usage of live resources not counted through an active request, by team: one grouped query.

        A resource whose request is still approved or provisioning is counted
        through that request, so it is left out here to avoid counting it twice;
        rows matching ``uncounted`` are left out too.
        """
        from portal.choices import RequestState

        if self.model is None or not self.count_field:
            return {}
        sums = {amount: Sum(column) for amount, column in self.sizes.items()}
        live = self.model._default_manager.filter(team_id__in=team_ids).filter(
            Q(request__isnull=True) | Q(request__state=RequestState.FULFILLED)
        )
        if self.uncounted is not None:
            live = live.exclude(self.uncounted)
        rows = live.values("team_id").annotate(count=Count("id"), **sums)
        usage = {}
        for row in rows:
            amounts: dict[str, Any] = {amount: row[amount] or 0 for amount in self.sizes}
            if "vcpus" in amounts:
                amounts["vcpus"] = Decimal(amounts["vcpus"])
            count = {self.count_field: row["count"]} if self.count_field else {}
            usage[row["team_id"]] = Amounts(**amounts, **count)
        if self.extra_usage is not None:
            for team_id, extra in self.extra_usage(team_ids).items():
                usage[team_id] = usage.get(team_id, Amounts()) + extra
        return usage

    def request_image_id(self, request: ResourceRequest) -> int | None:
        """The image an ask names, for a policy's image allowlist; None when the kind has no image."""
        value = request.spec.get("image_id") if self.image_model is not None else None
        return int(value) if value is not None else None

    def request_network_ids(self, request: ResourceRequest) -> list[int]:
        """The networks an ask names, for a policy's network allowlist; empty when it joins its team's own."""
        if self.network_model is None:
            return []
        return [int(value) for value in request.spec.get("network_ids") or []]

    def name_in_use(self, team: Team, name: str) -> bool:
        """Whether the team already has a live resource of this kind with this name."""
        if self.model is None:
            return False
        return self.model._default_manager.filter(team=team, name=name).exists()

    def resource_of(self, request: ResourceRequest) -> models.Model | None:
        """The resource a request made, if any."""
        if not self.request_related:
            return None
        try:
            resource: models.Model = getattr(request, self.request_related)
        except ObjectDoesNotExist:
            return None
        return resource


_handlers: dict[str, KindHandler] = {}
_job_actions: dict[str, str] = {}


def kind_register(handler: KindHandler) -> None:
    """Register a kind and its job actions; called from an app's ``ready()``. Registering twice replaces."""
    _handlers[handler.kind] = handler
    job_actions_register(handler.job_actions)


def job_actions_register(actions: dict[str, str]) -> None:
    """Register job actions that belong to no kind (probing a host, loading an image)."""
    _job_actions.update(actions)


def kind_handler(kind: str) -> KindHandler:
    """The handler of a kind; a kind without one is a programming error."""
    try:
        return _handlers[kind]
    except KeyError:
        raise LookupError(f"No handler registered for resource kind {kind!r}") from None


def kind_handlers() -> list[KindHandler]:
    """All registered kinds."""
    return list(_handlers.values())


def kind_choices() -> list[tuple[str, str]]:
    """Kinds as form choices."""
    return [(handler.kind, handler.label) for handler in _handlers.values()]


def kind_label(kind: str) -> str:
    """How people call a kind; an unknown one (an app removed) shows as stored."""
    handler = _handlers.get(kind)
    return handler.label if handler else kind


def kind_validate(kind: str) -> None:
    """Model-field validator: the kind must be registered."""
    if kind not in _handlers:
        raise ValidationError(f"{kind!r} is not a kind of resource.", code="invalid")


def job_action_label(action: str) -> str:
    """How people call a job action; an unknown one shows as stored."""
    return _job_actions.get(action, action)


def job_action_validate(action: str) -> None:
    """Model-field validator, also called at job creation: the action must be registered."""
    if action not in _job_actions:
        raise ValidationError(f"{action!r} is not a job action.", code="invalid")


def request_resources_related() -> list[str]:
    """The names to ``select_related`` so that a list of requests reaches every resource without more queries."""
    return [handler.request_related for handler in _handlers.values() if handler.request_related]


def resource_of_request(request: ResourceRequest) -> models.Model | None:
    """The resource a request made, whatever its kind."""
    handler = _handlers.get(request.kind)
    return handler.resource_of(request) if handler else None


def resource_url(request: ResourceRequest) -> str:
    """The page of a request's resource, or "" while it has none."""
    handler = _handlers.get(request.kind)
    resource = handler.resource_of(request) if handler else None
    return handler.resource_url(resource) if handler and resource is not None else ""


def request_sizes_text(request: ResourceRequest) -> str:
    """The sizes a request asks for, in its kind's units: "1 vCPU · 64 MiB · 1 GiB"; "" when it asks for none.

    A kind whose ask is not sizes (a quota change) says it with its own ``ask_text``.
    """
    handler = _handlers.get(request.kind)
    if handler is not None and handler.ask_text is not None:
        return handler.ask_text(request)
    parts = []
    if request.vcpus:
        cpus = request.vcpus
        number = f"{cpus.normalize():f}" if cpus != cpus.to_integral() else str(int(cpus))
        parts.append(f"{number} {handler.cpu_unit if handler else 'CPU'}")
    if request.memory_mib:
        parts.append(f"{request.memory_mib} MiB")
    if request.disk_gib:
        parts.append(f"{request.disk_gib} GiB")
    return " · ".join(parts)
