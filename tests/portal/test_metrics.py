"""The /metrics endpoint: off by default, a bearer token, an exposition Prometheus parses, the portal's families."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from hypervisors.choices import HostJobAction, VMJobAction
from portal.choices import JobState, RequestState
from portal.metrics_collectors import JOB_DURATION_BUCKETS
from tests.factories import JobFactory, ResourceRequestFactory
from tests.support.metrics import TOKEN, labels, samples_of, scrape

pytestmark = pytest.mark.django_db


def test_metrics_are_off_when_no_token_is_configured(client, settings):
    settings.PORTAL_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN],
)
def test_a_missing_or_wrong_token_gets_401(client, metrics_token, authorization, caplog):
    headers = {} if authorization is None else {"Authorization": authorization}
    with caplog.at_level(logging.DEBUG):
        response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"portal_" not in response.content
    assert TOKEN not in caplog.text


def test_a_logged_in_superuser_without_the_token_gets_401(client, metrics_token, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="x")
    client.force_login(admin)
    assert client.get("/metrics").status_code == 401


def test_the_right_token_gets_an_exposition_prometheus_parses(client, metrics_token, caplog):
    with caplog.at_level(logging.DEBUG):
        families = scrape(client)
    assert {"portal_requests_pending", "portal_jobs", "portal_job_duration_seconds", "portal_celery_broker_up"} <= set(
        families
    )
    assert TOKEN not in caplog.text
    # A registry of the portal's own: no process or platform families of the global default registry.
    assert not any(name.startswith(("process_", "python_")) for name in families)


def test_only_get_and_head_answer(client, metrics_token):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.head("/metrics", headers=headers).status_code == 200
    assert client.post("/metrics", headers=headers).status_code in (403, 405)


def test_pending_requests_are_counted_by_kind_with_every_kind_shown(client, metrics_token):
    ResourceRequestFactory.create_batch(2, kind="vm")
    ResourceRequestFactory(kind="container", state=RequestState.PENDING)
    ResourceRequestFactory(kind="vm", state=RequestState.REJECTED)
    pending = samples_of(scrape(client), "portal_requests_pending")
    assert pending[labels(kind="vm")] == 2
    assert pending[labels(kind="container")] == 1
    assert pending[labels(kind="network")] == 0


def test_jobs_are_counted_by_state_and_action(client, metrics_token):
    JobFactory.create_batch(3, action=HostJobAction.HOST_PROBE, state=JobState.SUCCEEDED)
    JobFactory(action=VMJobAction.VM_START, state=JobState.RUNNING)
    jobs = samples_of(scrape(client), "portal_jobs")
    assert jobs == {
        labels(state="succeeded", action=HostJobAction.HOST_PROBE): 3,
        labels(state="running", action=VMJobAction.VM_START): 1,
    }


def test_job_durations_form_a_histogram_of_finished_jobs(client, metrics_token):
    start = timezone.now() - timedelta(hours=1)
    for seconds, state in ((0.5, JobState.SUCCEEDED), (4, JobState.SUCCEEDED), (90, JobState.FAILED)):
        JobFactory(
            action=VMJobAction.VM_START,
            state=state,
            started_at=start,
            finished_at=start + timedelta(seconds=seconds),
        )
    JobFactory(action=VMJobAction.VM_START, state=JobState.RUNNING, started_at=start)  # not finished: left out
    JobFactory(action=VMJobAction.VM_START, state=JobState.FAILED, finished_at=start)  # never started: left out
    families = scrape(client)
    action = labels(action=VMJobAction.VM_START)
    bucket_samples = samples_of(families, "portal_job_duration_seconds", "portal_job_duration_seconds_bucket")
    buckets = {dict(key)["le"]: value for key, value in bucket_samples.items()}
    assert buckets["1.0"] == 1
    assert buckets["5.0"] == 2
    assert buckets["60.0"] == 2
    assert buckets["120.0"] == 3
    assert buckets["+Inf"] == 3
    assert len(buckets) == len(JOB_DURATION_BUCKETS) + 1
    assert samples_of(families, "portal_job_duration_seconds", "portal_job_duration_seconds_count")[action] == 3
    total = samples_of(families, "portal_job_duration_seconds", "portal_job_duration_seconds_sum")[action]
    assert total == pytest.approx(94.5)


def test_the_portal_families_cost_a_fixed_number_of_queries(client, metrics_token, django_assert_max_num_queries):
    start = timezone.now()
    JobFactory.create_batch(
        20, action=VMJobAction.VM_START, state=JobState.SUCCEEDED, started_at=start, finished_at=start
    )
    ResourceRequestFactory.create_batch(10)
    with django_assert_max_num_queries(20):
        scrape(client)
