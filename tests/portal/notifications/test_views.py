"""The notifications page, mark read (one, all), the header's badge and the profile's e-mail choices: each
person's own only, writes only by POST with the CSRF token, htmx answers fragments that refresh the badge."""

from __future__ import annotations

import pytest

from portal.notifications.categories import NotificationCategory
from portal.notifications.models import EmailOptOut, Notification
from portal.notifications.services import notify
from tests.support.pages import HTMX, count_queries, csrf_post, text

pytestmark = pytest.mark.django_db


def tell(user, subject="Ready: virtual machine web", category=NotificationCategory.JOB_FINISHED):
    [row] = notify(users=[user], category=category, subject=subject, body="It is up.", url="/vms/")
    return row


def test_the_list_shows_only_ones_own(member, outsider, client_for):
    tell(member, "Mine")
    tell(outsider, "Theirs")
    page = client_for(member).get("/notifications/")
    assert page.status_code == 200
    assert "Mine" in text(page) and "Theirs" not in text(page)
    assert 'href="/vms/"' in text(page)


def test_the_list_pages_newest_first_by_keyset_in_constant_queries(member, client_for):
    for number in range(30):
        tell(member, f"Notice {number:02}")
    client = client_for(member)
    first = client.get("/notifications/")
    assert "Notice 29" in text(first) and "Notice 04" not in text(first) and "Older" in text(first)
    older = client.get("/notifications/?after=" + first.context["page_obj"].next_cursor)
    assert "Notice 04" in text(older) and "Notice 29" not in text(older) and "Newer" in text(older)
    few = count_queries(client, "/notifications/")
    for number in range(30):
        tell(member, f"More {number}")
    assert count_queries(client, "/notifications/") == few


def test_the_badge_counts_ones_own_unread(member, outsider, client_for):
    tell(member)
    tell(member)
    tell(outsider)
    client = client_for(member)
    badge = client.get("/notifications/unread/", headers=HTMX)
    assert badge.status_code == 200
    assert 'id="unread-badge"' in text(badge) and ">2</span>" in text(badge)
    header = text(client.get("/requests/"))
    assert 'hx-get="/notifications/unread/"' in header and ">2</span>" in header


def test_the_badge_costs_one_count_query(member, client_for, django_assert_num_queries):
    client = client_for(member)
    client.get("/notifications/unread/")  # the session is read once and cached by then
    with django_assert_num_queries(3):  # session, user, the count
        client.get("/notifications/unread/")


def test_after_logout_the_badge_stops_polling(client, db):
    response = client.get("/notifications/unread/", headers=HTMX)
    assert response.status_code == 286 and response.content == b""


def test_the_header_has_no_badge_for_anonymous_visitors(client, db):
    assert b"unread-badge" not in client.get("/accounts/login/").content


def test_marking_one_as_read_answers_its_row_and_refreshes_the_badge(member, client_for):
    row = tell(member)
    other = tell(member, "Another")
    response = csrf_post(client_for(member), f"/notifications/{row.pk}/read/", htmx=True)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "notifications-changed"
    assert f'id="notification-{row.pk}"' in text(response) and "Mark as read" not in text(response)
    row.refresh_from_db()
    other.refresh_from_db()
    assert row.read_at is not None and other.read_at is None


def test_marking_without_htmx_goes_back_to_the_list(member, client_for):
    row = tell(member)
    response = csrf_post(client_for(member), f"/notifications/{row.pk}/read/")
    assert response.status_code == 302 and response["Location"] == "/notifications/"


def test_anothers_notification_cannot_be_marked_read(member, outsider, client_for):
    theirs = tell(outsider)
    response = csrf_post(client_for(member), f"/notifications/{theirs.pk}/read/", htmx=True)
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_all_marks_only_ones_own(member, outsider, client_for):
    tell(member)
    tell(member)
    theirs = tell(outsider)
    response = csrf_post(client_for(member), "/notifications/read/", htmx=True)
    assert response.status_code == 200 and response["HX-Trigger"] == "notifications-changed"
    assert not Notification.objects.filter(user=member, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_writes_need_the_csrf_token(member, client_for):
    row = tell(member)
    client = client_for(member)
    assert client.post(f"/notifications/{row.pk}/read/", headers=HTMX).status_code == 403
    assert client.post("/notifications/read/", headers=HTMX).status_code == 403
    assert client.post("/profile/email/", {"categories": []}, headers=HTMX).status_code == 403
    row.refresh_from_db()
    assert row.read_at is None and not EmailOptOut.objects.exists()


def test_reading_is_by_post_only(member, client_for):
    row = tell(member)
    assert client_for(member).get(f"/notifications/{row.pk}/read/").status_code == 405
    row.refresh_from_db()
    assert row.read_at is None


def test_anonymous_visitors_go_to_the_login_page(client, db):
    assert client.get("/notifications/").status_code == 302
    assert client.post("/notifications/read/").status_code in (302, 403)


def test_the_profile_shows_every_category_ticked_by_default(member, client_for):
    page = text(client_for(member).get("/profile/"))
    for category in NotificationCategory:
        assert f'value="{category.value}"' in page
    assert page.count("checked") == len(NotificationCategory)


def test_unticking_a_category_turns_its_email_off(member, client_for):
    client = client_for(member)
    kept = [c.value for c in NotificationCategory if c != NotificationCategory.JOB_FINISHED]
    response = csrf_post(client, "/profile/email/", {"categories": kept}, htmx=True)
    assert response.status_code == 200 and "saved" in text(response)
    assert list(EmailOptOut.objects.filter(user=member).values_list("category", flat=True)) == ["job_finished"]
    page = text(client.get("/profile/"))
    assert page.count("checked") == len(NotificationCategory) - 1
    csrf_post(client, "/profile/email/", {"categories": [c.value for c in NotificationCategory]}, htmx=True)
    assert not EmailOptOut.objects.exists()


def test_a_category_that_does_not_exist_is_refused_and_nothing_changes(member, client_for):
    client = client_for(member)
    response = csrf_post(client, "/profile/email/", {"categories": ["job_finished", "secrets"]}, htmx=True)
    assert response.status_code == 400 and "secrets" in text(response)
    assert not EmailOptOut.objects.exists()
    plain = csrf_post(client, "/profile/email/", {"categories": ["nope"]})
    assert plain.status_code == 302 and not EmailOptOut.objects.exists()


def test_ones_choices_do_not_touch_anothers(member, outsider, client_for):
    EmailOptOut.objects.create(user=outsider, category=NotificationCategory.LEASE)
    csrf_post(client_for(member), "/profile/email/", {"categories": []}, htmx=True)
    assert EmailOptOut.objects.filter(user=member).count() == len(NotificationCategory)
    assert list(EmailOptOut.objects.filter(user=outsider).values_list("category", flat=True)) == ["lease"]
