"""A write repeated with the same Idempotency-Key returns the first answer and creates nothing new."""

import threading

import pytest
from django.db import connection

from portal.api.models import IdempotencyRecord
from portal.api.tokens import token_create
from portal.models import ResourceRequest
from tests.factories import ImageFactory
from tests.support.api import bearer, errors_of


def vm_ask(team, image, name="web"):
    return {"name": name, "team": team.pk, "image": image.pk, "vcpus": 1, "memory_mib": 128, "disk_gib": 1,
            "justification": "ci"}  # fmt: skip


@pytest.mark.django_db
def test_a_repeat_replays_the_first_answer(member, team, token_client):
    image = ImageFactory()
    client = token_client(member)
    first = client.post("/api/v1/vms/", vm_ask(team, image), format="json", HTTP_IDEMPOTENCY_KEY="ci-run-1")
    again = client.post("/api/v1/vms/", vm_ask(team, image), format="json", HTTP_IDEMPOTENCY_KEY="ci-run-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and first["Location"] == again["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert ResourceRequest.objects.count() == 1


@pytest.mark.django_db
def test_errors_are_replayed_too(member, team, token_client):
    client = token_client(member)
    ask = {"name": "Bad Name!", "team": team.pk}
    first = client.post("/api/v1/vms/", ask, format="json", HTTP_IDEMPOTENCY_KEY="k")
    again = client.post("/api/v1/vms/", ask, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == again.status_code == 400
    assert errors_of(first) == errors_of(again)


@pytest.mark.django_db
def test_a_key_is_for_one_request(member, team, token_client):
    image = ImageFactory()
    client = token_client(member)
    client.post("/api/v1/vms/", vm_ask(team, image), format="json", HTTP_IDEMPOTENCY_KEY="k")
    other = client.post("/api/v1/vms/", vm_ask(team, image, "db"), format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert other.status_code == 422
    assert ResourceRequest.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_per_user(member, team_admin, team, token_client):
    image = ImageFactory()
    token_client(member).post("/api/v1/vms/", vm_ask(team, image), format="json", HTTP_IDEMPOTENCY_KEY="k")
    second = token_client(team_admin).post(
        "/api/v1/vms/", vm_ask(team, image, "db"), format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert second.status_code == 201
    assert IdempotencyRecord.objects.count() == 2


@pytest.mark.django_db
def test_a_key_is_kept_for_a_day(member, team, token_client):
    from datetime import timedelta

    from django.utils import timezone

    image = ImageFactory()
    client = token_client(member)
    client.post("/api/v1/vms/", vm_ask(team, image), format="json", HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    client.post("/api/v1/vms/", vm_ask(team, image, "db"), format="json", HTTP_IDEMPOTENCY_KEY="new")
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    reused = client.post("/api/v1/vms/", vm_ask(team, image, "cache"), format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert reused.status_code == 201


@pytest.mark.django_db
def test_without_a_key_each_write_counts(member, team, token_client):
    image = ImageFactory()
    client = token_client(member)
    client.post("/api/v1/vms/", vm_ask(team, image), format="json")
    assert client.post("/api/v1/vms/", vm_ask(team, image), format="json").status_code == 400
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_ten_parallel_posts_with_one_key_make_one_request(member, team):
    image = ImageFactory()
    _, secret = token_create(actor=member, name="ci")
    barrier = threading.Barrier(10)
    statuses: list[int] = []

    def post() -> None:
        try:
            barrier.wait(timeout=30)
            response = bearer(secret).post(
                "/api/v1/vms/", vm_ask(team, image), format="json", HTTP_IDEMPOTENCY_KEY="parallel"
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == [201] * 10
    assert ResourceRequest.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
