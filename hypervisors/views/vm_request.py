"""The form to ask for a VM, with its live quota preview."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View

from hypervisors.forms import VMRequestForm
from portal.choices import ResourceKind, Role
from portal.forms import form_add_quota_errors
from portal.quotas import QuotaExceeded, demand_of, quota_bars, shortfalls, teams_usage
from portal.selectors import teams_for
from portal.services import request_submit


class VMRequestCreateView(LoginRequiredMixin, View):
    """Ask for a VM. Errors, quota ones included, are shown next to the field they are about."""

    template_name = "hypervisors/vm_request_form.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        form = VMRequestForm(user=request.user)
        return self._render(request, form)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = VMRequestForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            # Taken before quota errors are attached: add_error drops a field from cleaned_data.
            preview = quota_preview(form)
            try:
                request_submit(
                    actor=request.user,
                    team=data["team"],
                    kind=ResourceKind.VM,
                    name=data["name"],
                    vcpus=data["vcpus"],
                    memory_mib=data["memory_mib"],
                    disk_gib=data["disk_gib"],
                    justification=data["justification"],
                    spec={"image_id": data["image"].pk, "image": data["image"].name},
                )
            except QuotaExceeded as error:
                form_add_quota_errors(form, error)
                return self._render(request, form, status=400, preview=preview)
            except ValidationError as error:
                form.add_error(None, error)
            except PermissionDenied as error:
                form.add_error("team", str(error))
            else:
                messages.success(request, f"Your request for {data['name']} was sent for approval.")
                return redirect("request-list")
        return self._render(request, form, status=400)

    def _render(
        self, request: HttpRequest, form: VMRequestForm, status: int = 200, preview: dict[str, Any] | None = None
    ) -> HttpResponse:
        can_ask = teams_for(request.user, Role.MEMBER).exists()
        context = {"form": form, "can_ask": can_ask, **(preview or quota_preview(form))}
        return render(request, self.template_name, context, status=status)


class VMRequestPreviewView(LoginRequiredMixin, View):
    """htmx: what the team would have left after this ask, and the field errors so far."""

    def post(self, request: HttpRequest) -> HttpResponse:
        form = VMRequestForm(request.POST, user=request.user)
        form.is_valid()
        return render(request, "hypervisors/_vm_request_preview.html", {"form": form, **quota_preview(form)})


def quota_preview(form: VMRequestForm) -> dict[str, Any]:
    """The chosen team's quota bars and the shortfalls of the ask, from whatever the form holds so far."""
    data = getattr(form, "cleaned_data", {}) if form.is_bound else {}
    team = data.get("team") or form.fields["team"].queryset.first()  # type: ignore[attr-defined]
    if team is None:
        return {"preview_team": None, "bars": [], "shortfalls": []}
    team = type(team).objects.select_related("quota").get(pk=team.pk)
    usage = teams_usage([team])[team.pk]
    demand = demand_of(
        kind=ResourceKind.VM,
        vcpus=data.get("vcpus") or 0,
        memory_mib=data.get("memory_mib") or 0,
        disk_gib=data.get("disk_gib") or 0,
    )
    return {
        "preview_team": team,
        "bars": quota_bars(usage),
        "demand": demand,
        "shortfalls": shortfalls(available=usage.free, demand=demand),
    }
