"""Domain lifecycle events through libvirt's own event loop, and the listener that stores them.

The watcher scenarios run in a child process: a watcher registers libvirt's event
loop for the whole process, and a connection it failed to release would keep the
test hypervisor's state alive into every later test of the session.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import libvirt
import pytest
from django.conf import settings

from hypervisors.drivers import HostUnreachable
from hypervisors.drivers.events import LifecycleWatcher
from hypervisors.management.commands.listen_events import Command
from hypervisors.models import HostStatSample
from tests.factories import HostFactory, TeamFactory, VirtualMachineFactory
from tests.support.libvirt_test import TEST_URI

UNREACHABLE_URI = "qemu+tcp://127.0.0.1:1/system"

#: Run in a fresh interpreter: watch test:///default, change domains through another connection, report as JSON.
SCENARIO = textwrap.dedent(
    """
    import json, time
    import libvirt
    from hypervisors.drivers.events import LifecycleWatcher

    def wait_for(condition, seconds=5.0):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not condition():
            time.sleep(0.05)
        return condition()

    seen = []
    report = {}
    keeper = libvirt.open("test:///default")
    keeper.defineXML(
        "<domain type='test'><name>marker</name><memory>65536</memory><os><type>hvm</type></os></domain>"
    )
    watcher = LifecycleWatcher(on_state=lambda key, uuid, state: seen.append([key, uuid, state]))
    report["watching_before"] = sorted(watcher.watching())
    watcher.watch("7", "test:///default")
    report["watching"] = sorted(watcher.watching())
    domain = keeper.lookupByName("test")
    report["uuid"] = uuid = domain.UUIDString()
    domain.destroy()
    report["stopped"] = wait_for(lambda: ["7", uuid, "shutoff"] in seen)
    domain.create()
    report["started"] = wait_for(lambda: ["7", uuid, "running"] in seen)
    domain.suspend()
    report["paused"] = wait_for(lambda: ["7", uuid, "paused"] in seen)
    domain.destroy()
    domain.undefine()
    report["undefined"] = wait_for(lambda: ["7", uuid, "missing"] in seen)
    del domain
    watcher.close()
    report["watching_after_close"] = sorted(watcher.watching())
    keeper.close()
    # with every connection closed, the test driver forgets its state: a fresh one has no "marker"
    fresh = libvirt.open("test:///default")
    report["state_outlived_close"] = "marker" in [d.name() for d in fresh.listAllDomains(0)]
    fresh.close()
    report["seen"] = seen
    print(json.dumps(report))
    """
)


@pytest.fixture(scope="module")
def scenario() -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", SCENARIO],
        cwd=Path(settings.BASE_DIR),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- the watcher ---


def test_watcher_reports_state_changes_made_elsewhere(scenario):
    assert scenario["stopped"], scenario["seen"]
    assert scenario["started"], scenario["seen"]
    assert scenario["paused"], scenario["seen"]
    assert scenario["undefined"], scenario["seen"]
    assert {key for key, _uuid, _state in scenario["seen"]} == {"7"}, "events come with the host's key"
    assert {uuid for _key, uuid, _state in scenario["seen"]} == {scenario["uuid"]}


def test_watching_lists_the_key_until_closed(scenario):
    assert scenario["watching_before"] == []
    assert scenario["watching"] == ["7"]
    assert scenario["watching_after_close"] == []


def test_close_releases_its_connections(scenario):
    """Its callbacks hold the connection: close() must drop them, or libvirt keeps the host's connection open."""
    assert scenario["state_outlived_close"] is False


def test_watch_of_an_unreachable_host_raises():
    watcher = LifecycleWatcher(on_state=lambda *event: None)
    try:
        with pytest.raises(HostUnreachable) as caught:
            watcher.watch("9", UNREACHABLE_URI)
        assert "127.0.0.1" in str(caught.value)
        assert watcher.watching() == set()
    finally:
        watcher.close()


def test_a_failing_callback_is_logged_not_raised_into_the_event_loop(libvirt_test_host, caplog):
    def explode(key, uuid, state):
        raise RuntimeError("boom")

    watcher = LifecycleWatcher(on_state=explode)
    conn = libvirt.open(TEST_URI)
    try:
        domain = conn.lookupByName("test")
        uuid = domain.UUIDString()
        # what libvirt's event thread calls; an exception escaping here would be lost in C code
        watcher._event(conn, domain, libvirt.VIR_DOMAIN_EVENT_STOPPED, 0, "1")
        del domain
    finally:
        conn.close()
        watcher.close()
    assert f"Handling an event of domain {uuid} on host 1 failed" in caplog.text
    assert "RuntimeError: boom" in caplog.text


# --- the listener command ---


@pytest.mark.django_db(transaction=True)
def test_listener_stores_an_observed_state():
    host = HostFactory(name="kvm1", uri=UNREACHABLE_URI)
    vm = VirtualMachineFactory(team=TeamFactory(), host=host, state="running")

    Command._on_state(str(host.pk), str(vm.uuid).upper(), "shutoff")
    vm.refresh_from_db()
    assert vm.state == "shutoff"

    other = HostFactory(name="kvm2", uri="qemu+ssh://root@kvm2/system")
    Command._on_state(str(other.pk), str(vm.uuid), "running")  # the same UUID reported by another host
    vm.refresh_from_db()
    assert vm.state == "shutoff"


@pytest.mark.django_db(transaction=True)
def test_listener_skips_a_host_that_does_not_answer():
    HostFactory(name="down", uri=UNREACHABLE_URI)
    watcher = LifecycleWatcher(on_state=lambda *event: None)
    try:
        Command()._watch_new_hosts(watcher)  # logs and carries on
        assert watcher.watching() == set()
    finally:
        watcher.close()
    assert not HostStatSample.objects.exists(), "no catch-up reconcile for a host not watched"


@pytest.mark.django_db(transaction=True)
def test_listener_watches_a_test_host_and_catches_up(libvirt_test_host):
    watcher = LifecycleWatcher(on_state=lambda *event: None)
    try:
        Command()._watch_new_hosts(watcher)
        assert watcher.watching() == {str(libvirt_test_host.pk)}
        assert HostStatSample.objects.filter(host=libvirt_test_host).count() == 1, "one reconcile on (re)connect"
        Command()._watch_new_hosts(watcher)
        assert HostStatSample.objects.filter(host=libvirt_test_host).count() == 1, "a watched host is left alone"
    finally:
        watcher.close()
