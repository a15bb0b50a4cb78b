"""The team page: who sees it, who may change what, and bad input shown where it was typed."""

import pytest

from portal.choices import Role
from portal.models import Membership, ResourceRequest
from tests.factories import MembershipFactory, UserFactory, VirtualMachineFactory
from tests.support.pages import count_queries, csrf_post, field_errors, text

pytestmark = pytest.mark.django_db

PAGE = "/teams/blue/"


def membership_of(user, team):
    return Membership.objects.get(user=user, team=team)


# --- who sees what ---


@pytest.mark.parametrize("who", ["viewer", "member"])
def test_every_member_sees_members_roles_and_quota_but_no_management(request, who, client_for, team_admin):
    response = client_for(request.getfixturevalue(who)).get(PAGE)
    assert response.status_code == 200
    page = text(response)
    assert 'id="member-teamadmin"' in page and "Team admin" in page
    assert 'class="quota"' in page
    assert 'id="member-add"' not in page and 'id="quota-change-form"' not in page
    assert "/remove/" not in page


def test_a_team_admin_sees_the_forms(client_for, team_admin, member):
    page = text(client_for(team_admin).get(PAGE))
    assert 'id="member-add"' in page and 'id="quota-change-form"' in page
    assert f"/teams/blue/members/{membership_of(member, member.memberships.get().team).pk}/remove/" in page


def test_users_of_other_teams_get_404(client_for, outsider, team_admin, member):
    client = client_for(outsider)
    target = membership_of(member, member.memberships.get().team).pk
    assert client.get(PAGE).status_code == 404
    assert csrf_post(client, f"{PAGE}members/", {"user": "outsider", "role": "viewer"}).status_code == 404
    assert csrf_post(client, f"{PAGE}members/{target}/remove/").status_code == 404
    assert csrf_post(client, f"{PAGE}quota/", {"vm_count": "99"}).status_code == 404
    assert Membership.objects.filter(user=member).exists()


def test_anonymous_people_are_sent_to_log_in(client, team):
    assert client.get(PAGE)["Location"].startswith("/accounts/login/")


def test_the_dashboard_links_to_the_team_page(client_for, member):
    assert 'href="/teams/blue/"' in text(client_for(member).get("/"))


@pytest.mark.parametrize("who", ["viewer", "member"])
def test_viewers_and_members_cannot_manage(request, who, client_for, team, team_admin, newcomer):
    client = client_for(request.getfixturevalue(who))
    admin_membership = membership_of(team_admin, team).pk
    assert csrf_post(client, f"{PAGE}members/", {"user": "newcomer", "role": "viewer"}).status_code == 403
    assert csrf_post(client, f"{PAGE}members/{admin_membership}/role/", {"role": "viewer"}).status_code == 403
    assert csrf_post(client, f"{PAGE}members/{admin_membership}/remove/").status_code == 403
    assert csrf_post(client, f"{PAGE}quota/", {"vm_count": "99", "justification": "x"}).status_code == 403
    assert not Membership.objects.filter(user=newcomer).exists()
    assert membership_of(team_admin, team).role == Role.TEAM_ADMIN


def test_writes_need_the_csrf_token(client_for, team_admin, newcomer):
    response = client_for(team_admin).post(f"{PAGE}members/", {"user": "newcomer", "role": "member"})
    assert response.status_code == 403
    assert not Membership.objects.filter(user=newcomer).exists()


# --- a team admin at work (htmx swaps the section) ---


def test_add_a_member_through_htmx(client_for, team_admin, newcomer):
    response = csrf_post(client_for(team_admin), f"{PAGE}members/", {"user": "newcomer", "role": "member"}, htmx=True)
    assert response.status_code == 200
    assert text(response).startswith('<section class="card" id="members">')
    assert "newcomer was added as member." in text(response)
    assert membership_of(newcomer, team_admin.memberships.get().team).role == Role.MEMBER


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"user": "nobody", "role": "member"}, "user", "No user 'nobody' was found."),
        ({"user": "member", "role": "member"}, "user", "member is already a member of the team."),
        ({"user": "newcomer", "role": "owner"}, "role", "Select a valid choice."),
        ({"user": "", "role": "member"}, "user", "This field is required."),
    ],
    ids=["unknown", "duplicate", "invalid-role", "empty"],
)
def test_bad_input_is_shown_next_to_the_field(client_for, team_admin, member, newcomer, data, field, message):
    response = csrf_post(client_for(team_admin), f"{PAGE}members/", data, htmx=True)
    assert response.status_code == 200, "htmx swaps only 2xx answers"
    assert message in field_errors(response, field)
    assert Membership.objects.count() == 2


def test_undeclared_fields_are_refused(client_for, team_admin, newcomer):
    data = {"user": "newcomer", "role": "member", "is_superuser": "1"}
    response = csrf_post(client_for(team_admin), f"{PAGE}members/", data)
    assert response.status_code == 400
    assert "cannot be asked for here: is_superuser" in text(response)
    assert not Membership.objects.filter(user=newcomer).exists()


def test_without_htmx_success_returns_to_the_page(client_for, team_admin, newcomer):
    response = csrf_post(client_for(team_admin), f"{PAGE}members/", {"user": "newcomer", "role": "viewer"})
    assert (response.status_code, response["Location"]) == (302, PAGE)


def test_role_change_and_the_last_admin(client_for, team, team_admin, member):
    client = client_for(team_admin)
    own = membership_of(team_admin, team).pk
    response = csrf_post(client, f"{PAGE}members/{own}/role/", {"role": "member"}, htmx=True)
    assert "The team's last team admin cannot be demoted" in text(response)
    assert membership_of(team_admin, team).role == Role.TEAM_ADMIN
    response = csrf_post(client, f"{PAGE}members/{membership_of(member, team).pk}/role/", {"role": "viewer"}, htmx=True)
    assert "member is now viewer." in text(response)
    assert membership_of(member, team).role == Role.VIEWER


def test_remove_and_the_last_admin(client_for, team, team_admin, member):
    client = client_for(team_admin)
    own = membership_of(team_admin, team).pk
    response = csrf_post(client, f"{PAGE}members/{own}/remove/", htmx=True)
    assert "The team's last team admin cannot be removed" in text(response)
    response = csrf_post(client, f"{PAGE}members/{membership_of(member, team).pk}/remove/", htmx=True)
    assert "member was removed from the team." in text(response)
    assert not Membership.objects.filter(user=member).exists()


def test_an_admin_who_leaves_is_sent_to_the_dashboard(client_for, team, team_admin, second_admin):
    response = csrf_post(
        client_for(team_admin), f"{PAGE}members/{membership_of(team_admin, team).pk}/remove/", htmx=True
    )
    assert response["HX-Redirect"] == "/"
    assert not Membership.objects.filter(user=team_admin).exists()


# --- asking for a quota change ---


def quota_data(**changes):
    data = {"vcpus": "8", "memory_mib": "4096", "disk_gib": "100", "vm_count": "10", "container_count": "10"}
    data.update({"network_count": "0", "snapshot_count": "10", "justification": "a course"})
    return {**data, **{key: str(value) for key, value in changes.items()}}


def test_a_team_admin_asks_for_a_quota_change(client_for, team, team_admin):
    response = csrf_post(client_for(team_admin), f"{PAGE}quota/", quota_data(vm_count=20), htmx=True)
    assert "Your quota change was sent for approval." in text(response)
    assert "Virtual machines 20" in text(response), "the waiting ask is shown"
    assert ResourceRequest.objects.get(team=team).spec == {"limits": {"vm_count": 20}}


def test_a_quota_below_usage_is_an_error_next_to_the_field(client_for, team, team_admin):
    VirtualMachineFactory.create_batch(2, team=team, vcpus=1)
    response = csrf_post(client_for(team_admin), f"{PAGE}quota/", quota_data(vm_count=1), htmx=True)
    assert "the team already uses 2; a quota of 1 would be below that" in field_errors(response, "vm_count")
    assert not ResourceRequest.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"vcpus": "-1"}, "vcpus", "greater than or equal to 0"),
        ({"memory_mib": "lots"}, "memory_mib", "Enter a whole number."),
        ({"disk_gib": str(2**40)}, "disk_gib", "less than or equal to"),
        ({"justification": ""}, "justification", "This field is required."),
    ],
)
def test_bad_quota_input_is_a_field_error(client_for, team_admin, changes, field, message):
    response = csrf_post(client_for(team_admin), f"{PAGE}quota/", quota_data(**changes), htmx=True)
    assert message in field_errors(response, field)
    assert not ResourceRequest.objects.exists()


def test_the_page_reads_in_as_many_queries_whatever_the_team_s_size(client_for, team, team_admin):
    client = client_for(team_admin)
    few = count_queries(client, PAGE)
    for number in range(6):
        MembershipFactory(team=team, user=UserFactory(username=f"extra{number}"), role=Role.MEMBER)
    assert count_queries(client, PAGE) == few
