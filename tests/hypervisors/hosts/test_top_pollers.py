"""Pollers of the top pages on libvirt's ``test:///default`` (its running domain is "test"): one per
host whoever watches, started by the first watcher, stopped when the last one leaves."""

from __future__ import annotations

import threading

import pytest

from hypervisors.drivers import driver_for
from hypervisors.hosts.top_pollers import Message, PollerRegistry
from hypervisors.hosts.top_rows import host_read
from tests.support.libvirt_test import TEST_URI
from tests.support.stack import wait_until

HOST_ID = 7


@pytest.fixture(autouse=True)
def quick_refresh(settings):
    settings.PORTAL_TOP_INTERVAL_SECONDS = 0.05


class Inbox:
    """A watcher that keeps what it is sent (called from the poller's thread)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    def __call__(self, message: Message) -> None:
        with self.lock:
            self.messages.append(message)

    def rows(self) -> list[Message]:
        with self.lock:
            return [message for message in self.messages if message["type"] == "rows"]


def test_two_watchers_share_one_poller_and_both_get_the_rows():
    registry = PollerRegistry()
    first, second = Inbox(), Inbox()

    poller = registry.watch(host_id=HOST_ID, uri=TEST_URI, watcher=first)
    same = registry.watch(host_id=HOST_ID, uri=TEST_URI, watcher=second)
    try:
        assert same is poller
        wait_until(lambda: len(first.rows()) >= 2 and len(second.rows()) >= 2, 10, "two refreshes", interval=0.02)
        threads = [thread for thread in threading.enumerate() if thread.name == f"top-host-{HOST_ID}"]
        assert threads == [poller.thread]
        [row] = second.rows()[-1]["rows"]
        assert (row["name"], row["state"]) == ("test", "running")
        assert second.rows()[-1]["host"] == HOST_ID
    finally:
        registry.unwatch(host_id=HOST_ID, watcher=first)
        registry.unwatch(host_id=HOST_ID, watcher=second)


def test_the_poller_stops_when_the_last_watcher_leaves():
    registry = PollerRegistry()
    first, second = Inbox(), Inbox()
    poller = registry.watch(host_id=HOST_ID, uri=TEST_URI, watcher=first)
    registry.watch(host_id=HOST_ID, uri=TEST_URI, watcher=second)
    wait_until(lambda: len(second.rows()) >= 1, 10, "a first refresh", interval=0.02)

    registry.unwatch(host_id=HOST_ID, watcher=first)
    assert registry.poller_of(HOST_ID) is poller
    assert poller.thread.is_alive()

    registry.unwatch(host_id=HOST_ID, watcher=second)
    assert registry.poller_of(HOST_ID) is None
    poller.thread.join(timeout=10)
    # Nobody watching costs nothing: the thread that read the host has ended.
    assert not poller.thread.is_alive()


def test_a_late_watcher_gets_the_last_rows_at_once_and_a_new_watch_starts_a_new_poller():
    registry = PollerRegistry()
    first = Inbox()
    poller = registry.watch(host_id=HOST_ID, uri=TEST_URI, watcher=first)
    wait_until(lambda: len(first.rows()) >= 1, 10, "a first refresh", interval=0.02)
    late = Inbox()
    registry.watch(host_id=HOST_ID, uri=TEST_URI, watcher=late)
    assert late.rows(), "the late watcher waited for the next refresh"
    registry.unwatch(host_id=HOST_ID, watcher=first)
    registry.unwatch(host_id=HOST_ID, watcher=late)

    again = registry.watch(host_id=HOST_ID, uri=TEST_URI, watcher=first)
    try:
        assert again is not poller
    finally:
        registry.unwatch(host_id=HOST_ID, watcher=first)


def test_a_host_that_does_not_answer_is_said_and_the_watch_goes_on():
    registry = PollerRegistry()
    inbox = Inbox()
    poller = registry.watch(host_id=HOST_ID, uri="test:///no/such/file.xml", watcher=inbox)
    try:
        wait_until(lambda: len(inbox.messages) >= 2, 10, "two refresh attempts", interval=0.02)
        assert {message["type"] for message in inbox.messages} == {"error"}
        assert poller.thread.is_alive()
    finally:
        registry.unwatch(host_id=HOST_ID, watcher=inbox)


def test_sizes_are_asked_once_and_carried_from_reading_to_reading():
    """The test driver reports no sizes in bulk: the first reading asks, the next ones carry them over."""
    with driver_for(TEST_URI) as driver:
        first = host_read(driver, taken_at=1.0)
        second = host_read(driver, taken_at=2.0, previous=first)
    [uuid] = first.domains
    assert first.domains[uuid].memory_max_kib is not None
    assert second.domains[uuid].memory_max_kib is None  # not asked again
    assert second.sizes[uuid] == first.sizes[uuid] == (first.domains[uuid].vcpus, first.domains[uuid].memory_max_kib)
