"""The SSH keys on the profile page: listed, added and deleted by their owner, with CSRF; private keys never echoed."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.models import SshKey
from portal.ssh_keys import ssh_key_add
from tests.factories import UserFactory
from tests.support.keys import private_text, public_line

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def alice():
    return UserFactory(username="alice")


def client_of(user, **options) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


def test_the_profile_lists_keys_with_their_fingerprints(alice):
    key = ssh_key_add(actor=alice, name="laptop", public_key=public_line("ed25519"))
    ssh_key_add(actor=UserFactory(username="bob"), name="bobs-key", public_key=public_line("ecdsa"))
    page = client_of(alice).get("/profile/").content.decode()
    assert "laptop" in page and key.fingerprint in page
    assert "bobs-key" not in page


def test_adding_a_key_shows_it_in_the_fragment(alice):
    response = client_of(alice).post(
        "/profile/ssh-keys/", {"name": "work", "public_key": public_line("rsa", 2048)}, **HTMX
    )
    assert response.status_code == 200
    key = SshKey.objects.get(user=alice)
    assert key.name == "work" and key.fingerprint in response.content.decode()


def test_a_pasted_private_key_is_refused_not_stored_and_not_echoed(alice):
    secret = private_text()
    response = client_of(alice).post("/profile/ssh-keys/", {"name": "oops", "public_key": secret}, **HTMX)
    body = response.content.decode()
    # htmx swaps only successful answers: the refusal is a 200 fragment showing the error.
    assert response.status_code == 200
    assert "private key: it was not stored" in body
    assert not SshKey.objects.exists()
    # Not one line of the secret comes back (the base64 lines, nor the header).
    assert "BEGIN OPENSSH PRIVATE KEY" not in body
    assert all(line not in body for line in secret.splitlines()[1:-1])


def test_a_weak_or_broken_key_is_an_error_under_the_field(alice):
    response = client_of(alice).post("/profile/ssh-keys/", {"public_key": public_line("rsa", 1024)}, **HTMX)
    assert response.status_code == 200
    assert "at least 2048" in response.content.decode()
    # Without htmx (a plain form post) the refusal is a 400.
    response = client_of(alice).post("/profile/ssh-keys/", {"public_key": "ssh-ed25519 garbage!"})
    assert response.status_code == 400 and "damaged" in response.content.decode()
    assert not SshKey.objects.exists()


def test_delete_is_for_the_owner_only(alice):
    key = ssh_key_add(actor=alice, name="laptop", public_key=public_line("ed25519"))
    mallory = client_of(UserFactory(username="mallory"))
    assert mallory.post(f"/profile/ssh-keys/{key.pk}/delete/", **HTMX).status_code == 404
    assert SshKey.objects.filter(pk=key.pk).exists()
    response = client_of(alice).post(f"/profile/ssh-keys/{key.pk}/delete/", **HTMX)
    assert response.status_code == 200 and "deleted" in response.content.decode()
    assert not SshKey.objects.exists()


def test_writes_need_the_csrf_token_and_a_login(alice):
    key = ssh_key_add(actor=alice, name="laptop", public_key=public_line("ed25519"))
    strict = client_of(alice, enforce_csrf_checks=True)
    assert strict.post(f"/profile/ssh-keys/{key.pk}/delete/").status_code == 403
    assert strict.post("/profile/ssh-keys/", {"public_key": public_line("ecdsa")}).status_code == 403
    assert SshKey.objects.count() == 1
    anonymous = Client().post("/profile/ssh-keys/", {"public_key": public_line("ecdsa")})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert Client().get(f"/profile/ssh-keys/{key.pk}/delete/").status_code in (302, 405)
