"""Personal API tokens: stored as a hash, usable until expired or revoked, every use recorded and audited."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.api.models import ApiToken
from portal.api.tokens import secret_hash, token_authenticate, token_create, token_revoke
from portal.models import AuditEvent
from tests.support.api import bearer, errors_of

pytestmark = pytest.mark.django_db


def test_only_a_hash_of_the_secret_is_kept_and_the_prefix_finds_it(member):
    token, secret = token_create(actor=member, name="ci")
    stored = ApiToken.objects.get(pk=token.pk)
    assert secret.startswith("vpt_") and stored.prefix in secret
    assert stored.secret_hash == secret_hash(secret) and secret not in stored.secret_hash
    assert token_authenticate(secret=secret, address="127.0.0.1") == token


def test_making_using_from_a_new_address_and_revoking_are_audited(member):
    token, secret = token_create(actor=member, name="ci", read_only=True)
    token_authenticate(secret=secret, address="127.0.0.1")
    token_authenticate(secret=secret, address="127.0.0.1")
    token_authenticate(secret=secret, address="127.0.0.2")
    token_revoke(actor=member, token_id=token.pk)
    actions = list(AuditEvent.objects.filter(actor=member).order_by("id").values_list("action", flat=True))
    assert actions == ["token.create", "token.new_address", "token.new_address", "token.revoke"]
    token.refresh_from_db()
    assert token.last_used_address == "127.0.0.2" and token.last_used_at is not None


@pytest.mark.parametrize(
    "secret",
    ["", "vpt_", "vpt_nope.x", "Bearer", "vpt_abcdef012345.wrong", "not-a-token"],
)
def test_wrong_secrets_find_nothing(member, secret):
    token_create(actor=member, name="ci")
    assert token_authenticate(secret=secret, address=None) is None


def test_a_token_is_restricted_only_to_the_users_own_teams(member, red):
    with pytest.raises(ValidationError):
        token_create(actor=member, name="ci", teams=[red])


def test_an_expiry_in_the_past_is_refused(member):
    with pytest.raises(ValidationError):
        token_create(actor=member, name="ci", expires_at=timezone.now() - timedelta(minutes=1))


def test_expired_revoked_and_unknown_tokens_get_401(member):
    expired, expired_secret = token_create(actor=member, name="old", expires_at=timezone.now() + timedelta(hours=1))
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked, revoked_secret = token_create(actor=member, name="gone")
    token_revoke(actor=member, token_id=revoked.pk)
    for secret in (expired_secret, revoked_secret, "vpt_000000000000.nothing"):
        response = bearer(secret).get("/api/v1/teams/")
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        errors_of(response)


def test_no_credentials_get_401(db, client):
    response = client.get("/api/v1/vms/")
    assert response.status_code == 401
    assert errors_of(response) == {}


def test_an_inactive_user_s_token_stops_working(member, token_client):
    client = token_client(member)
    member.is_active = False
    member.save()
    assert client.get("/api/v1/teams/").status_code == 401


def test_tokens_list_and_revoke_through_the_api(member, outsider, token_client):
    other, _ = token_create(actor=outsider, name="theirs")
    client = token_client(member)
    listed = client.get("/api/v1/tokens/").json()["results"]
    assert [t["name"] for t in listed] == ["test"] and "secret_hash" not in listed[0]
    assert client.delete(f"/api/v1/tokens/{other.pk}/").status_code == 404
    own = listed[0]["id"]
    assert client.delete(f"/api/v1/tokens/{own}/").status_code == 200
    assert client.get("/api/v1/tokens/").status_code == 401


def test_a_read_only_token_reads_but_never_writes(member, token_client):
    client = token_client(member, read_only=True)
    assert client.get("/api/v1/teams/").status_code == 200
    response = client.delete(f"/api/v1/tokens/{ApiToken.objects.get().pk}/")
    assert response.status_code == 403
    assert errors_of(response) == {}
    assert response.json()["detail"] == "This token is read-only."
