"""Self-service pages of the shared domain: requests and jobs of every kind.

Pages render from database rows only; nothing here talks to a host.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import ListView

from portal.htmx import page_or_fragment
from portal.kinds import request_resources_related
from portal.models import ResourceRequest
from portal.selectors import job_get, request_get, requests_for
from portal.services import request_cancel


class RequestListView(LoginRequiredMixin, ListView[ResourceRequest]):
    """Requests of the user's teams, with their state and the decision's reason."""

    template_name = "portal/request_list.html"
    context_object_name = "requests"
    paginate_by = 25

    def get_queryset(self) -> Any:
        queryset = requests_for(self.request.user).select_related(*request_resources_related())
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
        return page_or_fragment(
            request, page="portal/job_detail.html", fragment="portal/_job_progress.html", context={"job": job}
        )
