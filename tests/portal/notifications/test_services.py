"""notify and its neighbours: one row per active person, e-mail queued after commit for those who want it, read
marks on one's own rows only, e-mail choices; and the read-only admin list support reads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.db import transaction

from portal.notifications.categories import NotificationCategory
from portal.notifications.models import EmailOptOut, Notification
from portal.notifications.selectors import email_categories_of, unread_count
from portal.notifications.services import (
    EMAIL_TASK,
    absolute_link,
    email_categories_set,
    notifications_mark_read,
    notify,
)
from tests.factories import UserFactory
from tests.support.pages import csrf_post, text
from tests.support.stack import ROOT

pytestmark = pytest.mark.django_db


def tell(users, **extra):
    return notify(users=users, category=NotificationCategory.LEASE, subject="Lease ends tomorrow", **extra)


def test_one_row_per_active_person_even_when_named_twice(member, viewer):
    gone = UserFactory(username="gone", is_active=False)
    rows = tell([member, member, viewer, gone])
    assert sorted(row.user.username for row in rows) == ["member", "viewer"]
    assert Notification.objects.count() == 2


def test_an_unknown_category_is_a_programming_error(member):
    with pytest.raises(ValueError):
        notify(users=[member], category="gossip", subject="x")
    assert not Notification.objects.exists()


def test_emails_are_queued_after_commit_for_those_with_an_address_who_did_not_opt_out(
    member, viewer, team_admin, sent, django_capture_on_commit_callbacks
):
    member.email, viewer.email = "member@example.org", "viewer@example.org"
    member.save()
    viewer.save()
    EmailOptOut.objects.create(user=viewer, category=NotificationCategory.LEASE)
    with django_capture_on_commit_callbacks(execute=True):
        rows = tell([member, viewer, team_admin])  # team_admin has no address
        assert sent == []
    mine = next(row for row in rows if row.user_id == member.pk)
    assert sent == [{"task": EMAIL_TASK, "args": (mine.pk,)}]


def test_a_broker_that_does_not_answer_does_not_undo_the_event(member, monkeypatch, django_capture_on_commit_callbacks):
    from celery import Task

    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(Task, "apply_async", refuse)
    member.email = "member@example.org"
    member.save()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        tell([member])
    assert Notification.objects.get().emailed_at is None


def test_long_subjects_are_cut_and_overlong_links_dropped(member):
    [row] = tell([member], url="/x/" * 400)
    [other] = notify(users=[member], category=NotificationCategory.LEASE, subject="word " * 100)
    assert row.url == ""
    assert len(other.subject) == 200


def test_links_are_made_absolute_from_the_public_address(settings):
    settings.PORTAL_BASE_URL = "https://portal.example.org/"
    assert absolute_link("/vms/1/") == "https://portal.example.org/vms/1/"
    assert absolute_link("") == ""
    assert absolute_link("https://elsewhere.example.org/") == "https://elsewhere.example.org/"


def test_marking_read_touches_only_ones_own(member, outsider):
    tell([member])
    [theirs] = tell([outsider])
    assert notifications_mark_read(user=member, notification_ids=[theirs.pk]) == 0
    assert notifications_mark_read(user=member) == 1
    assert unread_count(member) == 0 and unread_count(outsider) == 1
    assert notifications_mark_read(user=member) == 0


def test_email_choices_round_trip(member):
    assert email_categories_of(member) == list(NotificationCategory.values)
    email_categories_set(user=member, enabled=["job_finished"])
    assert email_categories_of(member) == ["job_finished"]
    with pytest.raises(ValueError):
        email_categories_set(user=member, enabled=["gossip"])
    assert email_categories_of(member) == ["job_finished"]


def test_support_reads_notifications_in_admin_but_cannot_change_them(staff, member, client_for):
    [row] = tell([member], body="Your lease of web ends tomorrow.")
    client = client_for(staff)
    listing = client.get("/admin/portal/notification/")
    assert listing.status_code == 200 and "Lease ends tomorrow" in text(listing)
    detail = client.get(f"/admin/portal/notification/{row.pk}/change/")
    assert detail.status_code == 200 and "Your lease of web ends tomorrow." in text(detail)
    assert client.get("/admin/portal/notification/add/").status_code == 403
    csrf_post(client, f"/admin/portal/notification/{row.pk}/change/", {"subject": "changed"})
    csrf_post(client, f"/admin/portal/notification/{row.pk}/delete/", {"post": "yes"})
    row.refresh_from_db()
    assert row.subject == "Lease ends tomorrow"
    assert client.get("/admin/portal/emailoptout/").status_code == 200


def test_people_without_staff_status_do_not_reach_the_admin_list(member, client_for):
    assert client_for(member).get("/admin/portal/notification/").status_code == 302


def test_a_fresh_web_process_knows_the_email_task_by_name():
    """Only workers autodiscover tasks; the web process must register the base's own to send it after commit."""
    script = "import django; django.setup(); from celery import current_app; print(current_app.tasks[%r].name)"
    result = subprocess.run(
        [sys.executable, "-c", script % EMAIL_TASK],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith(EMAIL_TASK)
