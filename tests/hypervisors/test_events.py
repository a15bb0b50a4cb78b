"""Domain lifecycle events through libvirt's own event loop, and the listener that stores them."""

import time
import traceback
from collections.abc import Callable, Iterator

import libvirt
import pytest

from hypervisors.drivers import HostUnreachable
from hypervisors.drivers.events import LifecycleWatcher
from hypervisors.management.commands.listen_events import Command
from hypervisors.models import HostStatSample
from tests.factories import HostFactory, TeamFactory, VirtualMachineFactory

TEST_URI = "test:///default"
UNREACHABLE_URI = "qemu+tcp://127.0.0.1:1/system"
KEEPALIVE_BUG = (
    "LifecycleWatcher.watch treats virConnectSetKeepAlive's 'not supported' (local/test drivers) as HostUnreachable"
)


@pytest.fixture
def conn(libvirt_test_host) -> Iterator[libvirt.virConnect]:
    """Another connection: changes made through it reach the watcher only as events."""
    connection = libvirt.open(TEST_URI)
    yield connection
    connection.close()


@pytest.fixture
def seen() -> list[tuple[str, str, str]]:
    return []


@pytest.fixture
def watcher(seen) -> Iterator[LifecycleWatcher]:
    watching = LifecycleWatcher(on_state=lambda key, uuid, state: seen.append((key, uuid, state)))
    yield watching
    watching.close()  # an open connection would keep the test hypervisor's state alive into the next test


def watch(watcher: LifecycleWatcher, key: str, uri: str) -> str:
    """Watch a host; return the error text if it was refused, else "".

    The error is not let out: its traceback holds the connection ``watch`` opened,
    which would keep the test hypervisor's state alive into later tests.
    """
    try:
        watcher.watch(key, uri)
    except HostUnreachable as error:
        for raised in (error, error.__cause__):
            if raised is not None:
                traceback.clear_frames(raised.__traceback__)
        return str(error)
    return ""


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.xfail(strict=True, reason=KEEPALIVE_BUG)
def test_watcher_reports_state_changes_made_elsewhere(libvirt_test_host, conn, watcher, seen):
    assert watch(watcher, "7", TEST_URI) == ""
    domain = conn.lookupByName("test")
    uuid = domain.UUIDString()

    domain.destroy()
    assert wait_for(lambda: ("7", uuid, "shutoff") in seen), seen

    domain.create()
    assert wait_for(lambda: ("7", uuid, "running") in seen), seen

    domain.destroy()
    domain.undefine()
    assert wait_for(lambda: ("7", uuid, "missing") in seen), seen


@pytest.mark.xfail(strict=True, reason=KEEPALIVE_BUG)
def test_watching_lists_the_key_until_closed(libvirt_test_host, watcher):
    assert watcher.watching() == set()
    assert watch(watcher, "7", TEST_URI) == ""
    assert watcher.watching() == {"7"}
    watcher.close()
    assert watcher.watching() == set()


def test_watch_of_an_unreachable_host_raises(watcher):
    with pytest.raises(HostUnreachable) as caught:
        watcher.watch("9", UNREACHABLE_URI)
    assert "127.0.0.1" in str(caught.value)
    assert watcher.watching() == set()


def test_a_failing_callback_is_logged_not_raised_into_the_event_loop(conn, caplog):
    def explode(key, uuid, state):
        raise RuntimeError("boom")

    watching = LifecycleWatcher(on_state=explode)
    domain = conn.lookupByName("test")
    try:
        # what libvirt's event thread calls; an exception escaping here would be lost in C code
        watching._event(conn, domain, libvirt.VIR_DOMAIN_EVENT_STOPPED, 0, "1")
    finally:
        watching.close()
    assert f"Handling an event of domain {domain.UUIDString()} on host 1 failed" in caplog.text
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
def test_listener_skips_a_host_that_does_not_answer(seen):
    HostFactory(name="down", uri=UNREACHABLE_URI)
    watching = LifecycleWatcher(on_state=lambda *event: seen.append(event))
    try:
        Command()._watch_new_hosts(watching)  # logs and carries on
        assert watching.watching() == set()
    finally:
        watching.close()
    assert not HostStatSample.objects.exists(), "no catch-up reconcile for a host not watched"


@pytest.mark.xfail(strict=True, reason=KEEPALIVE_BUG)
@pytest.mark.django_db(transaction=True)
def test_listener_watches_a_test_host_and_catches_up(libvirt_test_host, seen):
    watching = LifecycleWatcher(on_state=lambda *event: seen.append(event))
    try:
        Command()._watch_new_hosts(watching)
        assert watching.watching() == {str(libvirt_test_host.pk)}
        assert HostStatSample.objects.filter(host=libvirt_test_host).count() == 1, "one reconcile on (re)connect"
        Command()._watch_new_hosts(watching)
        assert HostStatSample.objects.filter(host=libvirt_test_host).count() == 1, "a watched host is left alone"
    finally:
        watching.close()
