"""Team admins run their team: who may change what, bad input, the last admin, audit rows and notifications."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portal.choices import Role
from portal.models import AuditEvent, Membership
from portal.notifications.categories import NotificationCategory
from portal.notifications.models import Notification
from portal.teams.services import membership_add, membership_remove, membership_role_change, role_grantable
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def membership_of(user, team):
    return Membership.objects.get(user=user, team=team)


# --- who may manage ---


@pytest.mark.parametrize("who", ["viewer", "member", "outsider"])
def test_only_team_admins_and_staff_manage_members(request, who, team, newcomer, team_admin):
    actor = request.getfixturevalue(who)
    target = membership_of(team_admin, team)
    with pytest.raises(PermissionDenied):
        membership_add(actor=actor, team=team, user_identifier="newcomer", role=Role.VIEWER)
    with pytest.raises(PermissionDenied):
        membership_role_change(actor=actor, team=team, membership_id=target.pk, role=Role.VIEWER)
    with pytest.raises(PermissionDenied):
        membership_remove(actor=actor, team=team, membership_id=target.pk)
    assert not Membership.objects.filter(user=newcomer).exists()
    assert membership_of(team_admin, team).role == Role.TEAM_ADMIN
    assert not AuditEvent.objects.filter(action__startswith="team.").exists()


def test_a_team_admin_cannot_manage_another_team(team_admin, red, outsider, newcomer):
    with pytest.raises(PermissionDenied):
        membership_add(actor=team_admin, team=red, user_identifier="newcomer", role=Role.MEMBER)
    with pytest.raises(PermissionDenied):
        membership_remove(actor=team_admin, team=red, membership_id=membership_of(outsider, red).pk)


@pytest.mark.parametrize(
    ("actor_role", "role", "allowed"),
    [
        (Role.TEAM_ADMIN, Role.TEAM_ADMIN, True),
        (Role.TEAM_ADMIN, Role.VIEWER, True),
        (Role.MEMBER, Role.TEAM_ADMIN, False),
        (Role.MEMBER, Role.MEMBER, True),
        (Role.VIEWER, Role.MEMBER, False),
        (None, Role.VIEWER, False),
        (Role.TEAM_ADMIN, "owner", False),
    ],
)
def test_no_one_grants_above_their_own_role(actor_role, role, allowed):
    assert role_grantable(actor_role, role) is allowed


def test_staff_manage_any_team(staff, red, newcomer):
    membership = membership_add(actor=staff, team=red, user_identifier="newcomer", role=Role.TEAM_ADMIN)
    assert membership.role == Role.TEAM_ADMIN
    membership_remove(actor=staff, team=red, membership_id=membership.pk)
    assert not Membership.objects.filter(user=newcomer).exists()


# --- the team admin's changes, audited and told ---


def test_add_by_username_or_email_is_audited_and_told(team_admin, team, newcomer):
    membership = membership_add(actor=team_admin, team=team, user_identifier="NewComer@Example.org", role=Role.MEMBER)
    assert (membership.user, membership.role) == (newcomer, Role.MEMBER)
    event = AuditEvent.objects.get(action="team.member_add")
    assert (event.actor, event.team, event.detail) == (team_admin, team, "Member")
    note = Notification.objects.get(user=newcomer)
    assert note.category == NotificationCategory.TEAM_MEMBERSHIP
    assert note.subject == "You were added to team blue as member"
    assert note.url == "/teams/blue/"


def test_role_change_is_audited_and_told(team_admin, team, member):
    membership_role_change(
        actor=team_admin, team=team, membership_id=membership_of(member, team).pk, role=Role.TEAM_ADMIN
    )
    assert membership_of(member, team).role == Role.TEAM_ADMIN
    assert AuditEvent.objects.get(action="team.member_role").detail == "Member → Team admin"
    assert Notification.objects.get(user=member).subject == "Your role in team blue is now team admin"


def test_removal_is_audited_and_told(team_admin, team, member):
    membership_remove(actor=team_admin, team=team, membership_id=membership_of(member, team).pk)
    assert not Membership.objects.filter(user=member).exists()
    assert AuditEvent.objects.get(action="team.member_remove").detail == "member"
    note = Notification.objects.get(user=member)
    assert (note.subject, note.url) == ("You were removed from team blue", "")


# --- bad input: a clear error, nothing changed ---


@pytest.mark.parametrize(
    ("identifier", "message"),
    [
        ("nobody", "No user 'nobody' was found."),
        ("  ", "Give a username or an e-mail address."),
        ("member", "member is already a member of the team."),
    ],
)
def test_unknown_or_present_users_are_refused(team_admin, team, member, identifier, message):
    with pytest.raises(ValidationError) as refused:
        membership_add(actor=team_admin, team=team, user_identifier=identifier, role=Role.MEMBER)
    assert refused.value.message_dict == {"user": [message]}
    assert Membership.objects.filter(team=team).count() == 2
    assert not Notification.objects.exists()


def test_an_ambiguous_email_asks_for_the_username(team_admin, team):
    UserFactory(username="twin1", email="twin@example.org")
    UserFactory(username="twin2", email="twin@example.org")
    with pytest.raises(ValidationError, match="give the username"):
        membership_add(actor=team_admin, team=team, user_identifier="twin@example.org", role=Role.MEMBER)


def test_an_invalid_role_is_refused(team_admin, team, newcomer, member):
    with pytest.raises(ValidationError, match="'owner' is not a role"):
        membership_add(actor=team_admin, team=team, user_identifier="newcomer", role="owner")
    with pytest.raises(ValidationError, match="'owner' is not a role"):
        membership_role_change(actor=team_admin, team=team, membership_id=membership_of(member, team).pk, role="owner")
    assert membership_of(member, team).role == Role.MEMBER


def test_the_last_team_admin_is_neither_demoted_nor_removed(team_admin, team):
    own = membership_of(team_admin, team)
    with pytest.raises(ValidationError, match="last team admin cannot be demoted"):
        membership_role_change(actor=team_admin, team=team, membership_id=own.pk, role=Role.MEMBER)
    with pytest.raises(ValidationError, match="last team admin cannot be removed"):
        membership_remove(actor=team_admin, team=team, membership_id=own.pk)
    assert membership_of(team_admin, team).role == Role.TEAM_ADMIN
    assert not AuditEvent.objects.filter(action__startswith="team.").exists()


def test_with_a_second_admin_one_may_step_down(team_admin, second_admin, team):
    membership_role_change(
        actor=team_admin, team=team, membership_id=membership_of(team_admin, team).pk, role=Role.VIEWER
    )
    assert membership_of(team_admin, team).role == Role.VIEWER
    with pytest.raises(PermissionDenied):  # a viewer now
        membership_remove(actor=team_admin, team=team, membership_id=membership_of(second_admin, team).pk)


def test_a_membership_of_another_team_is_not_found(team_admin, team, outsider, red):
    with pytest.raises(ValidationError, match="not a member of the team"):
        membership_remove(actor=team_admin, team=team, membership_id=membership_of(outsider, red).pk)
    assert Membership.objects.filter(user=outsider).exists()
