"""Django admin of auto-approval policies: kinds, images and networks picked from the kind registry.

The stored values are plain lists (kinds; ``"<kind>:<id>"`` allowlist entries), so the form
offers what the registered kinds have today and a new kind appears here without a migration.
Every save and delete is audited like the other models staff edit.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from portal.admin_audit import AuditedAdminMixin
from portal.kinds import KindHandler, kind_choices, kind_handlers
from portal.models import AutoApprovalPolicy
from portal.policies.matching import policy_may_cover

Choices = list[tuple[str, list[tuple[str, str]]]]


def _rows_of(handlers: list[KindHandler], model_of: str) -> Choices:
    """``"<kind>:<id>"`` choices of each kind's image or network rows, grouped by kind."""
    groups: Choices = []
    for handler in handlers:
        model = getattr(handler, model_of)
        if model is not None:
            rows = [(f"{handler.kind}:{row.pk}", str(row)) for row in model._default_manager.all()]
            groups.append((handler.label, rows))
    return groups


class AutoApprovalPolicyForm(forms.ModelForm[AutoApprovalPolicy]):
    """Lists as checkboxes and multiple selects rather than JSON typed by hand."""

    kinds = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    images = forms.MultipleChoiceField(
        required=False, help_text="None chosen: any image. Hold Ctrl (⌘) to choose several."
    )
    networks = forms.MultipleChoiceField(
        required=False, help_text="None chosen: any network. An ask that names no network joins its team's own."
    )

    class Meta:
        model = AutoApprovalPolicy
        fields = (
            "name", "team", "enabled", "kinds", "max_vcpus", "max_memory_mib", "max_disk_gib", "images", "networks",
            "max_lease_days", "max_asks_per_user_per_day",
        )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        handlers = kind_handlers()
        self.fields["kinds"].choices = [  # type: ignore[attr-defined]
            (kind, label) for kind, label in kind_choices() if policy_may_cover(kind)
        ]
        self.fields["images"].choices = _rows_of(handlers, "image_model")  # type: ignore[attr-defined]
        self.fields["networks"].choices = _rows_of(handlers, "network_model")  # type: ignore[attr-defined]


@admin.register(AutoApprovalPolicy)
class AutoApprovalPolicyAdmin(AuditedAdminMixin, admin.ModelAdmin[AutoApprovalPolicy]):
    form = AutoApprovalPolicyForm
    list_display = ("name", "team", "enabled", "kinds_shown", "max_vcpus", "max_memory_mib", "max_disk_gib")
    list_filter = ("enabled", "team")
    search_fields = ("name", "team__name")
    list_select_related = ("team",)

    @admin.display(description="kinds")
    def kinds_shown(self, obj: AutoApprovalPolicy) -> str:
        return ", ".join(obj.kinds)
