"""The profile page makes tokens (secret shown once) and revokes them, with CSRF, through htmx."""

import pytest

from portal.api.models import ApiToken
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def csrf_of(client) -> str:
    page = client.get("/profile/")
    assert page.status_code == 200
    return page.cookies["csrftoken"].value


def test_the_profile_page_lists_tokens_and_links_the_docs(member, client_for):
    client = client_for(member)
    page = client.get("/profile/")
    assert page.status_code == 200
    assert b"/api/docs/" in page.content and b"No tokens yet" in page.content
    assert b'href="/profile/"' in client.get("/vms/").content


def test_making_a_token_shows_its_secret_once(member, team, client_for):
    client = client_for(member)
    token = csrf_of(client)
    response = client.post(
        "/profile/tokens/",
        {"name": "ci", "read_only": "on", "teams": [team.pk]},
        HTTP_X_CSRFTOKEN=token,
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    made = ApiToken.objects.get()
    assert made.read_only and list(made.teams.all()) == [team]
    assert b"vpt_" in response.content and b"not shown again" in response.content
    assert b"vpt_" not in client.get("/profile/").content


def test_without_csrf_nothing_is_made(member, client_for):
    response = client_for(member).post("/profile/tokens/", {"name": "ci"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_a_bad_form_is_answered_with_its_errors(member, red, client_for):
    client = client_for(member)
    response = client.post("/profile/tokens/", {"name": "", "teams": [red.pk]}, HTTP_X_CSRFTOKEN=csrf_of(client))
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_revoking_from_the_page(member, client_for):
    client = client_for(member)
    csrf = csrf_of(client)
    client.post("/profile/tokens/", {"name": "ci"}, HTTP_X_CSRFTOKEN=csrf)
    made = ApiToken.objects.get()
    response = client.post(f"/profile/tokens/{made.pk}/revoke/", HTTP_X_CSRFTOKEN=csrf, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    made.refresh_from_db()
    assert made.revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoke").count() == 1


def test_someone_elses_token_is_404(member, outsider, client_for):
    client = client_for(outsider)
    csrf = csrf_of(client)
    client.post("/profile/tokens/", {"name": "theirs"}, HTTP_X_CSRFTOKEN=csrf)
    theirs = ApiToken.objects.get()
    mine = client_for(member)
    assert mine.post(f"/profile/tokens/{theirs.pk}/revoke/", HTTP_X_CSRFTOKEN=csrf_of(mine)).status_code == 404


def test_anonymous_people_go_to_the_login_page(db, client):
    assert client.get("/profile/").status_code == 302
