"""Celery queue depth in /metrics: LLEN of each known queue on the real Redis broker, and a broker that is down."""

from __future__ import annotations

import socket

import pytest
import redis
from django.conf import settings as django_settings

from portal.metrics import metrics_queues_register, registered_queue_names
from portal.metrics_queues import PRIORITY_SEPARATOR, known_queues
from tests.factories import HostFactory
from tests.support.metrics import labels, samples_of, scrape
from tests.support.stack import redis_available, require

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker() -> redis.Redis:
    """The test run's own Redis database (CELERY_BROKER_URL), emptied of the queues these tests fill."""
    require(redis_available(), "needs Redis (CELERY_BROKER_URL)")
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL, socket_connect_timeout=1)
    queues = ("celery", "logs", "host.alpha", f"celery{PRIORITY_SEPARATOR}6")
    client.delete(*queues)
    yield client
    client.delete(*queues)
    client.close()


def test_known_queues_are_the_default_the_routed_and_each_hosts_own(settings):
    settings.PORTAL_HOST_QUEUES = True
    HostFactory(name="alpha")
    HostFactory(name="beta", uri="test:///beta")
    assert known_queues() == ["celery", "host.alpha", "host.beta", "logs"]
    settings.PORTAL_HOST_QUEUES = False
    assert known_queues() == ["celery", "logs"]


def test_registering_a_queue_source_again_replaces_it():
    def extra_queues():
        return ["extra"]

    metrics_queues_register(extra_queues)
    metrics_queues_register(extra_queues)
    try:
        assert registered_queue_names().count("extra") == 1
    finally:
        from portal import metrics

        del metrics._queue_sources[f"{extra_queues.__module__}.{extra_queues.__qualname__}"]


def test_queue_depth_is_the_length_of_each_queues_list(client, metrics_token, settings, broker):
    settings.PORTAL_HOST_QUEUES = True
    HostFactory(name="alpha")
    broker.rpush("celery", "a", "b", "c")
    broker.rpush(f"celery{PRIORITY_SEPARATOR}6", "urgent")  # a task sent with a priority
    broker.rpush("host.alpha", "d")
    families = scrape(client)
    depth = samples_of(families, "portal_celery_queue_length")
    assert depth[labels(queue="celery")] == 4
    assert depth[labels(queue="host.alpha")] == 1
    assert depth[labels(queue="logs")] == 0
    assert samples_of(families, "portal_celery_broker_up") == {(): 1}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_broker_that_is_down_leaves_the_queue_family_out_but_the_scrape_answers(client, metrics_token, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    families = scrape(client)
    assert "portal_celery_queue_length" not in families
    assert samples_of(families, "portal_celery_broker_up") == {(): 0}
    assert "portal_jobs" in families


def test_a_broker_that_is_not_redis_leaves_the_queue_family_out(client, metrics_token, settings):
    settings.CELERY_BROKER_URL = "memory://"
    families = scrape(client)
    assert "portal_celery_queue_length" not in families
    assert samples_of(families, "portal_celery_broker_up") == {(): 0}
