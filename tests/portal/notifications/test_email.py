"""E-mail of notifications through a real SMTP server (aiosmtpd): who gets what, with an absolute link; nothing
for a rolled-back event; a mail server that refuses or is down keeps the row, the pages work and the task retries.

Tasks run eagerly here (at commit, in the test's process); ``tests/integration/test_notification_email.py``
sends through a real worker.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from portal.notifications.categories import NotificationCategory
from portal.notifications.models import EmailOptOut, Notification
from portal.notifications.services import notification_email_send, notify
from portal.tasks import notification_email_send as email_task
from tests.support.pages import text
from tests.support.stack import require_postgresql

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks", "with_addresses")]


def tell(users, subject="Ready: virtual machine web", url="/vms/1/"):
    return notify(users=users, category=NotificationCategory.JOB_FINISHED, subject=subject, body="It is up.", url=url)


def test_the_email_goes_to_the_person_with_subject_and_absolute_link(
    smtp_server, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [row] = tell([member])
    [message] = smtp_server.messages
    assert smtp_server.recipients == [["member@example.org"]]
    assert message["To"] == "member@example.org"
    assert message["Subject"] == "Ready: virtual machine web"
    body = message.get_content()
    assert "It is up." in body
    assert "https://portal.example.org/vms/1/" in body
    assert "https://portal.example.org/profile/" in body  # where to turn these e-mails off
    row.refresh_from_db()
    assert row.emailed_at is not None


def test_nothing_is_sent_before_commit(smtp_server, member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tell([member])
    assert smtp_server.messages == []
    assert len(callbacks) == 1


def test_a_sent_email_is_not_sent_again(smtp_server, member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        [row] = tell([member])
    assert notification_email_send(row.pk) is False
    assert len(smtp_server.messages) == 1


def test_a_subject_with_line_breaks_is_sent_on_one_line(smtp_server, member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tell([member], subject="Ready:\r\nBcc: someone@example.net web")
    [message] = smtp_server.messages
    assert message["Subject"] == "Ready: Bcc: someone@example.net web"
    assert message["Bcc"] is None
    assert smtp_server.recipients == [["member@example.org"]]


def test_opting_out_stops_the_email_but_keeps_the_row(smtp_server, member, django_capture_on_commit_callbacks):
    EmailOptOut.objects.create(user=member, category=NotificationCategory.JOB_FINISHED)
    with django_capture_on_commit_callbacks(execute=True):
        [row] = tell([member])
    assert smtp_server.messages == []
    row.refresh_from_db()
    assert row.emailed_at is None and Notification.objects.filter(user=member).count() == 1


def test_other_categories_still_come_after_an_opt_out(smtp_server, member, django_capture_on_commit_callbacks):
    EmailOptOut.objects.create(user=member, category=NotificationCategory.LEASE)
    with django_capture_on_commit_callbacks(execute=True):
        tell([member])
    assert len(smtp_server.messages) == 1


def test_a_user_without_an_address_gets_the_row_only(smtp_server, viewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        [row] = tell([viewer])
    assert callbacks == [] and smtp_server.messages == []
    assert Notification.objects.get() == row


def test_a_refusing_server_keeps_the_row_the_page_works_and_the_task_retries(
    refusing_smtp_server, member, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [row] = tell([member])
    # Eager retries run at once: the first try and every retry reached the server and were refused.
    assert refusing_smtp_server.refused == email_task.max_retries + 1
    assert refusing_smtp_server.messages == []
    row.refresh_from_db()
    assert row.emailed_at is None
    page = client_for(member).get("/notifications/")
    assert page.status_code == 200
    assert "Ready: virtual machine web" in text(page)


def test_a_server_that_is_down_keeps_the_row_and_the_task_retries(
    smtp_down, member, client_for, django_capture_on_commit_callbacks
):
    result = email_task.apply(args=[tell([member])[0].pk])
    # The retries ran (eagerly) and the last one gave up with the connection's error.
    assert result.failed() and isinstance(result.result, ConnectionRefusedError)
    row = Notification.objects.get()
    assert row.emailed_at is None
    assert client_for(member).get("/notifications/").status_code == 200
    assert b'id="unread-badge"' in client_for(member).get("/profile/").content


def test_the_task_is_declared_to_retry_on_mail_and_network_errors():
    from smtplib import SMTPException

    assert SMTPException in email_task.autoretry_for and OSError in email_task.autoretry_for
    assert email_task.max_retries >= 5


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_event_sends_nothing_and_leaves_no_row(smtp_server, member):
    require_postgresql()
    with pytest.raises(RuntimeError), transaction.atomic():
        tell([member], subject="never")
        raise RuntimeError("the event failed after telling")
    assert not Notification.objects.exists()
    with transaction.atomic():
        tell([member], subject="committed")
    assert [message["Subject"] for message in smtp_server.messages] == ["committed"]


def test_a_new_ask_mails_the_administrators_a_link_to_it_in_admin(
    smtp_server, team, member, staff, image, django_capture_on_commit_callbacks
):
    from hypervisors.choices import HypervisorKind
    from portal.services import request_submit

    with django_capture_on_commit_callbacks(execute=True):
        ask = request_submit(
            actor=member, team=team, kind=HypervisorKind.VM, name="web", vcpus=1, memory_mib=128, disk_gib=1,
            justification="CI runners", spec={"image_id": image.pk},
        )  # fmt: skip
    [message] = smtp_server.messages
    assert smtp_server.recipients == [["admin@example.org"]]
    assert message["Subject"] == "New request waiting for a decision: virtual machine web for team blue"
    assert f"https://portal.example.org/admin/portal/resourcerequest/{ask.pk}/change/" in message.get_content()
