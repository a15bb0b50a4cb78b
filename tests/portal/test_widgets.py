"""The Python-written select writes exactly what Django's templates write."""

import pytest
from django import forms

from portal.widgets import Select

CHOICES = [
    ("", "All <teams>"),
    ("a", "Alpha & co"),
    (3, 'Three "quoted"'),
    ("Group", [("g1", "One"), ("g2", "Two")]),
]


class Both(forms.Form):
    ours = forms.ChoiceField(choices=CHOICES, required=False, widget=Select(attrs={"data-x": "1", "disabled": True}))
    django = forms.ChoiceField(
        choices=CHOICES, required=False, widget=forms.Select(attrs={"data-x": "1", "disabled": True})
    )


@pytest.mark.parametrize("value", [None, "a", "3", "g2", "missing"])
def test_the_same_html_as_django(value):
    form = Both({"ours": value, "django": value} if value is not None else None)
    assert str(form["ours"]).replace("ours", "field") == str(form["django"]).replace("django", "field")


def test_a_model_choice_field_renders_the_same(db, team):
    from portal.models import Team

    ours = forms.ModelChoiceField(queryset=Team.objects.all(), empty_label="All teams", widget=Select)
    django = forms.ModelChoiceField(queryset=Team.objects.all(), empty_label="All teams")
    form = type("F", (forms.Form,), {"field": ours})({"field": team.pk})
    other = type("F", (forms.Form,), {"field": django})({"field": team.pk})
    assert str(form["field"]) == str(other["field"])
