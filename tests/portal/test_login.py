"""Login lockout (django-axes) on the portal's login and the admin login: per username and address,
a clear message, unlocked by an admin, and audited."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt

from portal.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def alice(db):
    user = UserFactory(username="alice", is_staff=True)  # staff, so that the admin login accepts her too
    user.set_password(PASSWORD)
    user.save()
    return user


def attempt(client, url, password, address="10.1.1.1", username="alice"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_five_failures_lock_the_user_out_from_that_address(client, alice, settings, url):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        assert attempt(client, url, "wrong").status_code == 200
    locked = attempt(client, url, "wrong")
    assert locked.status_code == 429
    assert "Login locked" in locked.content.decode()
    assert "until a portal administrator unlocks it" in locked.content.decode()
    # even the right password is refused now, from that address
    assert attempt(client, url, PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    # the same user from another address is not locked
    assert attempt(client, url, PASSWORD, address="10.2.2.2").status_code == 302


def test_the_lockout_is_audited(client, alice):
    for _ in range(5):
        attempt(client, "/accounts/login/", "wrong")
    (event,) = AuditEvent.objects.filter(action="login.locked_out")
    assert event.result == "denied"
    assert "alice" in event.detail and "10.1.1.1" in event.detail


def test_an_admin_unlocks_from_admin(client, admin_client, alice):
    for _ in range(5):
        attempt(client, "/accounts/login/", "wrong")
    assert attempt(client, "/accounts/login/", PASSWORD).status_code == 429
    (lock,) = AccessAttempt.objects.filter(username="alice")
    assert admin_client.get("/admin/axes/accessattempt/").status_code == 200
    response = admin_client.post(f"/admin/axes/accessattempt/{lock.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert attempt(client, "/accounts/login/", PASSWORD).status_code == 302
