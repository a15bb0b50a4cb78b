"""The form on a resource's page that asks to extend its lease (the owner or a team admin)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views import View

from portal.choices import RequestState
from portal.forms import DayField
from portal.kinds import kind_handler
from portal.leases.extensions import lease_extension_submit
from portal.leases.policies import LEASE_FIELD
from portal.leases.selectors import leased_resource_get


class LeaseExtendForm(forms.Form):
    """The new last day of the lease."""

    lease_ends_on = DayField(label="New last day", widget=forms.DateInput(attrs={"type": "date"}))


class LeaseExtendView(LoginRequiredMixin, View):
    """POST: ask for a new lease end; approved at once within the team's maximum, else sent for approval."""

    def post(self, request: HttpRequest, kind: str, pk: int) -> HttpResponse:
        resource = leased_resource_get(request.user, kind, pk)
        page = kind_handler(kind).resource_url(resource)
        form = LeaseExtendForm(request.POST)
        if not form.is_valid():
            messages.error(request, f"Lease not extended: {form.errors[LEASE_FIELD][0]}")
            return HttpResponseRedirect(page)
        try:
            asked = lease_extension_submit(
                actor=request.user, kind=kind, resource_id=resource.pk, day=form.cleaned_data[LEASE_FIELD]
            )
        except (ValidationError, PermissionDenied) as error:
            text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            messages.error(request, f"Lease not extended: {text}")
            return HttpResponseRedirect(page)
        if asked.state == RequestState.FULFILLED:
            messages.success(request, "The lease was extended.")
        else:
            messages.success(request, "The extension is beyond the team's longest lease: it was sent for approval.")
        return HttpResponseRedirect(page)
