"""Self-service pages of the shared domain: dashboard, requests, jobs.

Pages render from database rows only; nothing here talks to a host.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View
from django.views.generic import ListView, TemplateView

from containers.selectors import containers_for
from hypervisors.selectors import vms_for
from portal.models import ResourceRequest
from portal.quotas import quota_bars, teams_usage
from portal.selectors import job_get, jobs_for, request_get, requests_for, teams_for
from portal.services import request_cancel

#: How many rows of each kind the dashboard shows.
DASHBOARD_ROWS = 10


class DashboardView(LoginRequiredMixin, TemplateView):
    """The user's teams with their quota bars, and their latest VMs, requests and jobs."""

    template_name = "portal/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        teams = list(teams_for(user).select_related("quota"))
        usage = teams_usage(teams)
        context["teams"] = [(team, quota_bars(usage[team.pk])) for team in teams]
        context["vms"] = vms_for(user).order_by("-created_at")[:DASHBOARD_ROWS]
        context["containers"] = containers_for(user).order_by("-created_at")[:DASHBOARD_ROWS]
        context["requests"] = requests_for(user).select_related("virtual_machine", "container")[:DASHBOARD_ROWS]
        context["jobs"] = jobs_for(user)[:DASHBOARD_ROWS]
        return context


class RequestListView(LoginRequiredMixin, ListView[ResourceRequest]):
    """Requests of the user's teams, with their state and the decision's reason."""

    template_name = "portal/request_list.html"
    context_object_name = "requests"
    paginate_by = 25

    def get_queryset(self) -> Any:
        queryset = requests_for(self.request.user).select_related("virtual_machine", "container")
        if self.request.GET.get("mine"):
            queryset = queryset.filter(requested_by_id=self.request.user.pk)
        return queryset


class RequestCancelView(LoginRequiredMixin, View):
    """Withdraw a pending request (POST only)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        resource_request = request_get(request.user, pk)
        try:
            request_cancel(actor=request.user, request_id=resource_request.pk)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        except PermissionDenied as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"Request for {resource_request.name} cancelled.")
        return redirect("request-list")


class JobDetailView(LoginRequiredMixin, View):
    """A job's progress and step log; htmx polls the fragment until the job ends."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = job_get(request.user, pk)
        template = "portal/_job_progress.html" if request.htmx else "portal/job_detail.html"  # type: ignore[attr-defined]
        return render(request, template, {"job": job})
