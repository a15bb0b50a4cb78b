"""Quota arithmetic: usage counted from rows, and the check that keeps a team inside its limits.

Usage has three parts:

* **used** — live resources (a VM that exists), counted by the kind's handler;
* **reserved** — approved or provisioning requests, whose resource is not live yet;
* **pending** — requests still waiting for a decision.

A submission must fit next to used + reserved + pending; an approval (and the
worker, again, before it builds) must fit next to used + reserved only, so that an
admin who lowered a quota after people asked is obeyed. Every check runs inside
the caller's transaction after :func:`team_lock`, so concurrent asks serialize
on the team row and can never overshoot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum

from portal.amounts import RESOURCES, Amounts, Resource
from portal.choices import COMMITTED_REQUEST_STATES, RequestState
from portal.kinds import kind_handler, kind_handlers
from portal.models import Quota, ResourceRequest, Team


def amounts_sum(items: Iterable[Amounts]) -> Amounts:
    """Sum of many amounts."""
    total = Amounts()
    for item in items:
        total = total + item
    return total


def quota_limits(quota: Quota | None) -> Amounts:
    """The limits of a quota; a team without a quota row may hold nothing."""
    if quota is None:
        return Amounts()
    return Amounts(**{r.field: getattr(quota, r.field) for r in RESOURCES})


def request_demand(request: ResourceRequest) -> Amounts:
    """What one request asks for, including one of its kind's count."""
    return demand_of(kind=request.kind, vcpus=request.vcpus, memory_mib=request.memory_mib, disk_gib=request.disk_gib)


def demand_of(*, kind: str, vcpus: Decimal | int, memory_mib: int, disk_gib: int) -> Amounts:
    """The amounts one resource of ``kind`` with these sizes takes from a quota."""
    count_field = kind_handler(kind).count_field
    count = {count_field: 1} if count_field else {}
    return Amounts(vcpus=Decimal(vcpus), memory_mib=memory_mib, disk_gib=disk_gib, **count)


def _requests_usage(
    team_ids: Sequence[int], exclude_request_id: int | None
) -> tuple[dict[int, Amounts], dict[int, Amounts]]:
    """Sums of the teams' committed (approved, provisioning) and pending requests: one grouped query."""
    committed_states = list(COMMITTED_REQUEST_STATES)
    rows = ResourceRequest.objects.filter(team_id__in=team_ids, state__in=[*committed_states, RequestState.PENDING])
    if exclude_request_id is not None:
        rows = rows.exclude(pk=exclude_request_id)
    grouped = rows.values("team_id", "kind", "state").annotate(
        vcpus_sum=Sum("vcpus"), memory_sum=Sum("memory_mib"), disk_sum=Sum("disk_gib"), count=Count("id")
    )
    reserved: dict[int, Amounts] = defaultdict(Amounts)
    pending: dict[int, Amounts] = defaultdict(Amounts)
    for row in grouped:
        usage = reserved if row["state"] in committed_states else pending
        count_field = kind_handler(row["kind"]).count_field
        usage[row["team_id"]] = usage[row["team_id"]] + Amounts(
            vcpus=row["vcpus_sum"] or Decimal("0"),
            memory_mib=row["memory_sum"] or 0,
            disk_gib=row["disk_sum"] or 0,
            **({count_field: row["count"]} if count_field else {}),
        )
    return reserved, pending


@dataclass(frozen=True)
class TeamUsage:
    """Limits and usage of one team, split as the quota bars show them."""

    limits: Amounts
    used: Amounts
    reserved: Amounts
    pending: Amounts

    @property
    def committed(self) -> Amounts:
        """Live resources plus approved requests: what an approval must fit next to."""
        return self.used + self.reserved

    @property
    def free(self) -> Amounts:
        """What is left for new asks."""
        return self.limits - self.committed - self.pending


def teams_usage(teams: Sequence[Team], exclude_request_id: int | None = None) -> dict[int, TeamUsage]:
    """Usage of several teams, in a constant number of queries (one per kind, plus one for the requests).

    The teams' ``quota`` should be fetched with ``select_related("quota")``.
    """
    team_ids = [team.pk for team in teams]
    live: dict[int, Amounts] = defaultdict(Amounts)
    for handler in kind_handlers():
        for team_id, amounts in handler.live_usage(team_ids).items():
            live[team_id] = live[team_id] + amounts
    reserved, pending = _requests_usage(team_ids, exclude_request_id)
    return {
        team.pk: TeamUsage(
            limits=quota_limits(getattr(team, "quota", None)),
            used=live.get(team.pk, Amounts()),
            reserved=reserved.get(team.pk, Amounts()),
            pending=pending.get(team.pk, Amounts()),
        )
        for team in teams
    }


def amount_text(value: Decimal | int) -> str:
    """An amount as people write it: 1.5, 2 (not 2.00), 512."""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}" if value != value.to_integral() else str(int(value))
    return str(value)


@dataclass(frozen=True)
class Shortfall:
    """One resource an ask does not fit in."""

    resource: Resource
    asked: Decimal | int
    available: Decimal | int

    @property
    def over_by(self) -> Decimal | int:
        return self.asked - self.available

    def __str__(self) -> str:
        unit = f" {self.resource.unit}" if self.resource.unit else ""
        return (
            f"{self.resource.label}: over quota by {amount_text(self.over_by)}{unit} "
            f"(asked {amount_text(self.asked)}{unit}, {amount_text(max(self.available, 0))}{unit} left)"
        )


class QuotaExceeded(Exception):
    """An ask does not fit in its team's quota. ``shortfalls`` says which resources and by how much."""

    def __init__(self, shortfalls: list[Shortfall]):
        self.shortfalls = shortfalls
        super().__init__("; ".join(str(s) for s in shortfalls))


def shortfalls(*, available: Amounts, demand: Amounts) -> list[Shortfall]:
    """The resources where ``demand`` exceeds ``available``."""
    return [
        Shortfall(resource=r, asked=demand.get(r.field), available=available.get(r.field))
        for r in RESOURCES
        if demand.get(r.field) > 0 and demand.get(r.field) > available.get(r.field)
    ]


def team_lock(team_id: int) -> Team:
    """Lock a team row for the rest of the transaction; quota checks of one team serialize on it.

    The quota comes in the same query (not locked: only the team row is the lock),
    so the check that usually follows need not read the team again.
    """
    return Team.objects.select_related("quota").select_for_update(of=("self",)).get(pk=team_id)


def quota_check(*, team: Team, demand: Amounts, include_pending: bool, exclude_request_id: int | None = None) -> None:
    """Raise :class:`QuotaExceeded` unless ``demand`` fits the team's quota now.

    Call inside a transaction after :func:`team_lock`. ``include_pending``
    counts requests still awaiting a decision (true at submission);
    ``exclude_request_id`` leaves out the request being decided or built.
    """
    team_with_quota = team if Team.quota.is_cached(team) else Team.objects.select_related("quota").get(pk=team.pk)
    usage = teams_usage([team_with_quota], exclude_request_id=exclude_request_id)[team.pk]
    taken = usage.committed + usage.pending if include_pending else usage.committed
    found = shortfalls(available=usage.limits - taken, demand=demand)
    if found:
        raise QuotaExceeded(found)


@dataclass(frozen=True)
class QuotaBar:
    """One resource of one team as a bar: used (live + approved), pending, free, out of the limit."""

    resource: Resource
    limit: Decimal | int
    used: Decimal | int
    pending: Decimal | int
    free: Decimal | int

    def _percent(self, value: Decimal | int) -> int:
        if not self.limit:
            return 100 if value else 0
        return max(0, min(100, round(100 * float(value) / float(self.limit))))

    @property
    def used_percent(self) -> int:
        return self._percent(self.used)

    @property
    def pending_percent(self) -> int:
        return min(self._percent(self.pending), 100 - self.used_percent)


def amount_plain(value: Decimal | int) -> Decimal | int:
    """An amount without trailing zeros (4, not 4.00; 0.5, not 0.50), as pages show it."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral() else value.normalize()
    return value


def quota_bars(usage: TeamUsage) -> list[QuotaBar]:
    """The bars of one team's quota, one per resource."""
    return [
        QuotaBar(
            resource=r,
            limit=amount_plain(usage.limits.get(r.field)),
            used=amount_plain(usage.committed.get(r.field)),
            pending=amount_plain(usage.pending.get(r.field)),
            free=amount_plain(usage.free.get(r.field)),
        )
        for r in RESOURCES
    ]
