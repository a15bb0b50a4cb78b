"""Lease policies in Django admin: a team's default, longest lease and grace, per kind with leases."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from portal.kinds import kind_handlers
from portal.leases.models import LeasePolicy


class LeasePolicyForm(forms.ModelForm[LeasePolicy]):
    """The kind is chosen among the registered kinds that have leases (never a hard-coded list)."""

    kind = forms.ChoiceField(choices=())

    class Meta:
        model = LeasePolicy
        fields = ("team", "kind", "default_days", "max_days", "grace_days")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(h.kind, h.label) for h in kind_handlers() if h.has_leases]  # type: ignore[attr-defined]


@admin.register(LeasePolicy)
class LeasePolicyAdmin(admin.ModelAdmin[LeasePolicy]):
    """Empty days mean none: no lease by default, or no maximum."""

    form = LeasePolicyForm
    list_display = ("team", "kind", "default_days", "max_days", "grace_days")
    list_filter = ("kind",)
    search_fields = ("team__name",)
    list_select_related = ("team",)
