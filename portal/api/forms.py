"""The form that makes a personal API token on the profile page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import AnonymousUser, User

from portal.models import Team
from portal.selectors import teams_for


class TokenForm(forms.Form):
    """Name, optional expiry, read-only flag, optional restriction to some of the user's teams."""

    name = forms.CharField(max_length=100, help_text="What will use it, e.g. \u201cCI pipeline\u201d.")
    expires_at = forms.DateTimeField(
        label="Expires", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Empty: until you revoke it.",
    )  # fmt: skip
    read_only = forms.BooleanField(label="Read only", required=False)
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every team of yours.",
    )  # fmt: skip

    def __init__(self, *args: Any, user: User | AnonymousUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["teams"].queryset = teams_for(user)  # type: ignore[attr-defined]
