"""API tokens in Django admin: listed without their secret, revoked through a service (audited), never made there."""

import pytest
from django.contrib.auth.models import Permission

from portal.api.models import ApiToken
from portal.api.tokens import token_create, token_revoke_by_admin
from portal.models import AuditEvent
from tests.factories import UserFactory
from tests.support.pages import csrf_post, text

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/portal_api/apitoken/"


def test_admin_lists_tokens_without_secrets_and_cannot_add(client_for, staff, member):
    token, secret = token_create(actor=member, name="ci")
    page = client_for(staff).get(CHANGELIST)
    assert page.status_code == 200
    assert "ci" in text(page)
    assert secret not in text(page) and token.secret_hash not in text(page)
    change = client_for(staff).get(f"{CHANGELIST}{token.pk}/change/")
    assert token.secret_hash not in text(change)
    assert client_for(staff).get(f"{CHANGELIST}add/").status_code == 403


def test_revoke_selected_revokes_and_audits(client_for, staff, member):
    token, _ = token_create(actor=member, name="ci")
    response = csrf_post(
        client_for(staff), CHANGELIST, {"action": "revoke_selected", "_selected_action": [token.pk]}, follow=True
    )
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoke", actor=staff, target_id=str(token.pk)).exists()


def test_only_administrators_with_the_permission_revoke_others_tokens(member):
    from django.core.exceptions import PermissionDenied

    token, _ = token_create(actor=member, name="ci")
    clerk = UserFactory(username="clerk", is_staff=True)
    with pytest.raises(PermissionDenied):
        token_revoke_by_admin(actor=clerk, token_id=token.pk)
    clerk.user_permissions.add(Permission.objects.get(codename="change_apitoken"))
    clerk = type(clerk).objects.get(pk=clerk.pk)  # permissions are cached per user object
    assert token_revoke_by_admin(actor=clerk, token_id=token.pk).revoked_at is not None
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
