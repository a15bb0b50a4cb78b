"""The top pages: a table of live statistics that ``static/portal/top.js`` fills from a websocket.

The page itself reads nothing from the host; it only says who may watch. Those who may not get
404, as for anything of another team (anonymous people go to the login page).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.views.generic import TemplateView

from hypervisors.hosts.selectors import host_get
from portal.teams.selectors import team_get


class HostTopView(LoginRequiredMixin, TemplateView):
    """Every domain of one host, refreshed live: portal administrators only."""

    template_name = "hypervisors/host_top.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        if not self.request.user.is_staff:
            raise Http404
        context = super().get_context_data(**kwargs)
        host = host_get(kwargs["pk"])
        context.update(host=host, websocket_path=f"/ws{self.request.path}")
        return context


class TeamTopView(LoginRequiredMixin, TemplateView):
    """A team's VMs, refreshed live: for everyone who sees the team, viewers included (it only shows)."""

    template_name = "hypervisors/team_top.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        team = team_get(self.request.user, kwargs["slug"])
        context.update(team=team, websocket_path=f"/ws{self.request.path}")
        return context
