"""The one place a token's team restriction is applied: every API read and write narrows through here.

Selectors already scope rows to the user's teams; a token restricted to some teams
narrows that further. Viewsets call :func:`scope_teams` on every queryset they
serve (their base does it), and asks narrow the form's team choices with it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from django.http import Http404

from portal.api.models import ApiToken

_Row = TypeVar("_Row", bound=Model)


def request_token(request: Any) -> ApiToken | None:
    """The token the request authenticated with, or None (a browser session)."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


def allowed_team_ids(request: Any) -> set[int] | None:
    """The teams a restricted token may reach; None when nothing narrows the user's own scope."""
    token = request_token(request)
    if token is None:
        return None
    cached: set[int] | None = getattr(token, "_allowed_team_ids", None)
    if cached is None:
        cached = set(token.teams.values_list("pk", flat=True))
        token._allowed_team_ids = cached  # type: ignore[attr-defined]
    return cached or None


def scope_teams(request: Any, queryset: QuerySet[_Row], field: str = "team", shared: bool = False) -> QuerySet[_Row]:
    """``queryset`` narrowed to the token's teams through ``field`` ("team", "pk" for teams themselves).

    ``shared`` keeps rows that belong to no team (shared networks), which every member may see anyway.
    """
    team_ids = allowed_team_ids(request)
    if team_ids is None:
        return queryset
    condition = Q(**{f"{field}__in": team_ids})
    if shared:
        condition |= Q(**{f"{field}__isnull": True})
    return queryset.filter(condition)


def require_team_in_scope(request: Any, team_id: int | None) -> None:
    """404 for an object of a team the token may not reach (as if it did not exist, like another team's)."""
    team_ids = allowed_team_ids(request)
    if team_ids is not None and team_id is not None and team_id not in team_ids:
        raise Http404("No such object.")
