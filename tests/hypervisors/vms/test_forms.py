"""The VM request form: every bad input is a field error, never an exception."""

import pytest

from hypervisors.vms.forms import MAX_DISK_GIB, MAX_MEMORY_MIB, MAX_VCPUS, VMRequestForm
from portal.choices import Role
from portal.models import Team
from tests.factories import ImageFactory, MembershipFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(team, image):
    """A valid ask of the member's team."""
    return {
        "name": "web",
        "team": str(team.pk),
        "image": str(image.pk),
        "vcpus": "1",
        "memory_mib": "128",
        "disk_gib": "1",
        "justification": "A web server for the tests",
    }


def form_with(user, data, **changes):
    return VMRequestForm({**data, **changes}, user=user)


def assert_only_error_on(form, field):
    assert not form.is_valid()
    assert field in form.errors, form.errors
    assert set(form.errors) == {field}, form.errors
    assert all(message.strip() for message in form.errors[field])


def test_valid_ask_is_cleaned(member, data, team, image):
    form = form_with(member, data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["team"] == team
    assert form.cleaned_data["image"] == image
    assert form.cleaned_data["vcpus"] == 1
    assert form.cleaned_data["memory_mib"] == 128


@pytest.mark.parametrize("name", ["a", "web-1", "1web", "a" * 63, "a-b-c-0"])
def test_good_names(member, data, name):
    form = form_with(member, data, name=name)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["name"] == name


def test_name_is_stripped(member, data):
    form = form_with(member, data, name="  web  ")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["name"] == "web"


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert(1)</script>",
        "web<",
        "it's",
        "]]>",
        "vm-é",
        "日本",
        "a" * 300,
        "a" * 64,
        "",
        "   ",
        "-web",
        "web-",
        "Web",
        "WEB",
        "two words",
        "under_score",
        "dot.ted",
        "nul\x00byte",
        "line\nbreak",
    ],
    ids=lambda value: repr(value)[:20],
)
def test_bad_names_are_field_errors(member, data, name):
    assert_only_error_on(form_with(member, data, name=name), "name")


BAD_SIZES = [
    ("vcpus", "0"),
    ("vcpus", "-1"),
    ("vcpus", str(10**30)),
    ("vcpus", str(MAX_VCPUS + 1)),
    ("vcpus", "many"),
    ("vcpus", "1.5"),
    ("vcpus", "0.5"),
    ("vcpus", "1e3"),
    ("vcpus", ""),
    ("memory_mib", "0"),
    ("memory_mib", "-1"),
    ("memory_mib", "31"),
    ("memory_mib", str(10**30)),
    ("memory_mib", str(MAX_MEMORY_MIB + 1)),
    ("memory_mib", "lots"),
    ("memory_mib", "128.5"),
    ("memory_mib", ""),
    ("disk_gib", "0"),
    ("disk_gib", "-1"),
    ("disk_gib", str(10**30)),
    ("disk_gib", str(MAX_DISK_GIB + 1)),
    ("disk_gib", "big"),
    ("disk_gib", "1.5"),
    ("disk_gib", ""),
]


@pytest.mark.parametrize(("field", "value"), BAD_SIZES)
def test_bad_sizes_are_field_errors(member, data, field, value):
    assert_only_error_on(form_with(member, data, **{field: value}), field)


def test_team_of_which_user_is_not_a_member(member, data, outsider):
    red = Team.objects.get(slug="red")
    assert_only_error_on(form_with(member, data, team=str(red.pk)), "team")


def test_team_where_user_is_only_a_viewer(member, data):
    green = TeamFactory(name="green", slug="green")
    MembershipFactory(user=member, team=green, role=Role.VIEWER)
    assert_only_error_on(form_with(member, data, team=str(green.pk)), "team")


@pytest.mark.parametrize("value", ["", "abc", "999999", str(10**30), "-1", "1.5"])
def test_bad_team_values(member, data, value):
    assert_only_error_on(form_with(member, data, team=value), "team")


@pytest.mark.parametrize("value", ["", "abc", "999999", str(10**30), "-1"])
def test_bad_image_values(member, data, value):
    assert_only_error_on(form_with(member, data, image=value), "image")


def test_image_no_longer_offered(member, data):
    retired = ImageFactory(is_active=False)
    assert_only_error_on(form_with(member, data, image=str(retired.pk)), "image")


def test_memory_below_image_minimum(member, data):
    big = ImageFactory(name="big", min_memory_mib=256)
    form = form_with(member, data, image=str(big.pk), memory_mib="128")
    assert_only_error_on(form, "memory_mib")
    assert "big needs at least 256 MiB." in form.errors["memory_mib"]


def test_disk_below_image_minimum(member, data):
    big = ImageFactory(name="big", min_disk_gib=10)
    form = form_with(member, data, image=str(big.pk), disk_gib="5")
    assert_only_error_on(form, "disk_gib")
    assert "big needs at least 10 GiB." in form.errors["disk_gib"]


def test_image_minimum_exactly_met(member, data):
    big = ImageFactory(name="big", min_memory_mib=256, min_disk_gib=10)
    assert form_with(member, data, image=str(big.pk), memory_mib="256", disk_gib="10").is_valid()


@pytest.mark.parametrize("value", ["", "   ", "x" * 2001, "nul\x00byte"], ids=["empty", "blank", "too-long", "nul"])
def test_bad_justification(member, data, value):
    assert_only_error_on(form_with(member, data, justification=value), "justification")


def test_many_bad_fields_are_each_reported(member, data):
    form = form_with(member, data, name="Bad Name", vcpus="-1", memory_mib="x", disk_gib="0", image="999999")
    assert not form.is_valid()
    assert {"name", "vcpus", "memory_mib", "disk_gib", "image"} <= set(form.errors)


def test_teams_offered_are_those_where_the_user_may_ask(member, viewer, team_admin, outsider, staff, team):
    red = Team.objects.get(slug="red")
    assert list(VMRequestForm(user=member).fields["team"].queryset) == [team]
    assert list(VMRequestForm(user=team_admin).fields["team"].queryset) == [team]
    assert list(VMRequestForm(user=viewer).fields["team"].queryset) == []
    assert list(VMRequestForm(user=outsider).fields["team"].queryset) == [red]
    assert set(VMRequestForm(user=staff).fields["team"].queryset) == {team, red}


def test_rendered_team_choices_hide_other_teams(member, outsider):
    rendered = str(VMRequestForm(user=member)["team"])
    assert "blue" in rendered
    assert "red" not in rendered
