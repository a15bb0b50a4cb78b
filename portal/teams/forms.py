"""Forms of the team page: add a member, change a role, ask for a quota change."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from portal.amounts import RESOURCES
from portal.choices import Role
from portal.forms import AllowlistForm
from portal.teams.services import role_grantable

#: The largest value a quota's integer columns hold.
MAX_LIMIT = 2**31 - 1


def role_choices(actor_role: str | None) -> list[tuple[str, str]]:
    """The roles someone holding ``actor_role`` may give: never above their own."""
    return [(role.value, role.label) for role in Role if role_grantable(actor_role, role.value)]


class MemberAddForm(AllowlistForm):
    """Who to add (an existing user, by username or e-mail) and with which role."""

    user = forms.CharField(label="Username or e-mail", max_length=254)
    role = forms.ChoiceField(label="Role", choices=())

    def __init__(self, *args: Any, actor_role: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(actor_role)  # type: ignore[attr-defined]
        self.fields["role"].initial = Role.MEMBER


class MemberRoleForm(AllowlistForm):
    """A member's new role."""

    role = forms.ChoiceField(label="Role", choices=())

    def __init__(self, *args: Any, actor_role: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(actor_role)  # type: ignore[attr-defined]


class QuotaChangeForm(AllowlistForm):
    """New limits, one field per quota resource (filled with today's), and why the team needs them."""

    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, help_text="What does the team need it for?"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for resource in RESOURCES:
            label = f"{resource.label} ({resource.unit})" if resource.unit else resource.label
            if resource.field == "vcpus":
                field: forms.Field = forms.DecimalField(
                    label=label, min_value=Decimal("0"), max_digits=8, decimal_places=2
                )
            else:
                field = forms.IntegerField(label=label, min_value=0, max_value=MAX_LIMIT)
            self.fields[resource.field] = field
        self.order_fields([*(resource.field for resource in RESOURCES), "justification"])

    def limits(self) -> dict[str, Decimal | int]:
        """The limits asked for, by quota field (after ``is_valid()``)."""
        return {resource.field: self.cleaned_data[resource.field] for resource in RESOURCES}
