"""The pages that ask for a resource, shared by every kind: the form and its live quota preview.

A kind provides its form (a ``ResourceRequestForm``) and templates; submitting
goes through the one ``request_submit`` service whatever the kind.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View

from portal.choices import Role
from portal.forms import ResourceRequestForm, form_add_quota_errors
from portal.models import ResourceRequest
from portal.quotas import QuotaExceeded, demand_of, quota_bars, shortfalls, teams_usage
from portal.selectors import teams_for
from portal.services import request_submit


def quota_preview(form: ResourceRequestForm) -> dict[str, Any]:
    """The chosen team's quota bars and the shortfalls of the ask, from whatever the form holds so far."""
    data = getattr(form, "cleaned_data", {}) if form.is_bound else {}
    team = data.get("team") or form.fields["team"].queryset.first()  # type: ignore[attr-defined]
    if team is None:
        return {"preview_team": None, "bars": [], "shortfalls": []}
    team = form.fields["team"].queryset.select_related("quota").get(pk=team.pk)  # type: ignore[attr-defined]
    usage = teams_usage([team])[team.pk]
    vcpus, memory_mib, disk_gib = form.sizes(data)
    demand = demand_of(kind=form.kind, vcpus=vcpus, memory_mib=memory_mib, disk_gib=disk_gib)
    return {
        "preview_team": team,
        "bars": quota_bars(usage),
        "demand": demand,
        "shortfalls": shortfalls(available=usage.free, demand=demand),
    }


def submitted_message(asked: ResourceRequest) -> str:
    """What the person reads after asking: sent for approval, or approved at once and by which policy."""
    if asked.approval_policy is not None:
        policy = asked.approval_policy.name
        return f"Your request for {asked.name} was approved automatically by policy {policy}; it is being built."
    return f"Your request for {asked.name} was sent for approval."


class ResourceRequestCreateView(LoginRequiredMixin, View):
    """Ask for a resource. Errors, quota ones included, are shown next to the field they are about."""

    form_class: ClassVar[type[ResourceRequestForm]]
    template_name: ClassVar[str] = "request_form.html"
    #: Shown in the page ("a VM"), and the names of the kind's submit and preview URLs.
    kind_label: ClassVar[str]
    submit_url: ClassVar[str]
    preview_url: ClassVar[str]

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, self.form_class(user=request.user))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form_class(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            # Taken before quota errors are attached: add_error drops a field from cleaned_data.
            preview = quota_preview(form)
            vcpus, memory_mib, disk_gib = form.sizes(data)
            try:
                asked = request_submit(
                    actor=request.user,
                    team=data["team"],
                    kind=form.kind,
                    name=data["name"],
                    vcpus=vcpus,
                    memory_mib=memory_mib,
                    disk_gib=disk_gib,
                    justification=data["justification"],
                    spec=form.spec(data),
                    lease_ends_at=data.get("lease_ends_at"),
                )
            except QuotaExceeded as error:
                form_add_quota_errors(form, error)
                return self._render(request, form, status=400, preview=preview)
            except ValidationError as error:
                form.add_error(None, error)
            except PermissionDenied as error:
                form.add_error("team", str(error))
            else:
                messages.success(request, submitted_message(asked))
                return redirect("request-list")
        return self._render(request, form, status=400)

    def _render(
        self, request: HttpRequest, form: ResourceRequestForm, status: int = 200, preview: dict[str, Any] | None = None
    ) -> HttpResponse:
        can_ask = teams_for(request.user, Role.MEMBER).exists()
        context = {
            "form": form,
            "can_ask": can_ask,
            "kind_label": self.kind_label,
            "submit_url": self.submit_url,
            "preview_url": self.preview_url,
            **(preview or quota_preview(form)),
        }
        return render(request, self.template_name, context, status=status)


class ResourceRequestPreviewView(LoginRequiredMixin, View):
    """htmx: what the team would have left after this ask, and the field errors so far."""

    form_class: ClassVar[type[ResourceRequestForm]]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form_class(request.POST, user=request.user)
        form.is_valid()
        return render(request, "_request_preview.html", {"form": form, **quota_preview(form)})
