"""The profile's choice of which notifications also come by e-mail."""

from __future__ import annotations

from django import forms

from portal.notifications.categories import NotificationCategory


class EmailCategoriesForm(forms.Form):
    """One checkbox per category; unticked ones still show in the portal, only the e-mail stops."""

    categories = forms.MultipleChoiceField(
        label="E-mail me about",
        choices=NotificationCategory.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Unticked kinds still show under Notifications; only the e-mail stops.",
    )
