"""Celery tasks of the hypervisors app, run eagerly (no broker): retries with back-off, fan-out per host."""

from collections.abc import Iterator

import libvirt
import pytest
from celery import signals

from hypervisors import tasks
from hypervisors.choices import HypervisorKind
from hypervisors.drivers import HostUnreachable
from hypervisors.drivers.libvirt_driver import LibvirtDriver
from hypervisors.models import Host, HostStatSample, VirtualMachine
from hypervisors.vms.services import vm_action_request
from portal.choices import JobState, RequestState
from portal.models import Job, ResourceRequest
from portal.retries import backoff
from portal.services import request_approve, request_submit
from tests.factories import HostFactory
from tests.support.rows import messages

pytestmark = pytest.mark.django_db

UNREACHABLE_URI = "qemu+tcp://127.0.0.1:1/system"


@pytest.fixture
def retries() -> Iterator[list[float]]:
    """The countdown of every retry a task asks for, as Celery reports it."""
    seen: list[float] = []

    def record(sender=None, reason=None, **kwargs):
        seen.append(reason.when)

    signals.task_retry.connect(record, weak=False)
    yield seen
    signals.task_retry.disconnect(record)


@pytest.fixture
def approved(team, member, staff, image, libvirt_test_host):
    """An approved VM request; its provisioning job is queued."""
    request = request_submit(
        actor=member, team=team, kind=HypervisorKind.VM, name="web", vcpus=1, memory_mib=128, disk_gib=1,
        justification="needed", spec={"image_id": image.pk},
    )  # fmt: skip
    return request_approve(actor=staff, request_id=request.pk, reason="ok")


@pytest.fixture
def running_vm(approved, conn) -> VirtualMachine:
    result = tasks.vm_provision.apply(args=[approved.pk])
    assert result.successful()
    vm = VirtualMachine.objects.get(request_id=approved.request_id)
    assert vm.state == "running"
    return vm


def host_down_for(monkeypatch, method: str, attempts: int) -> list[int]:
    """Make a driver method raise HostUnreachable for the first ``attempts`` calls, then work."""
    calls: list[int] = []
    real = getattr(LibvirtDriver, method)

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) <= attempts:
            raise HostUnreachable("Cannot recv data: Connection reset by peer")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LibvirtDriver, method, flaky)
    return calls


def test_backoff_doubles(settings):
    settings.PORTAL_RETRY_BASE_SECONDS = 10
    assert [backoff(n) for n in range(4)] == [10, 20, 40, 80]


# --- vm_operate ---


def test_vm_operate_retries_with_backoff_until_the_host_answers(
    running_vm, conn, member, monkeypatch, settings, retries
):
    settings.PORTAL_RETRY_LIMIT, settings.PORTAL_RETRY_BASE_SECONDS = 5, 10
    calls = host_down_for(monkeypatch, "domain_power_off", attempts=2)
    job = vm_action_request(actor=member, vm_id=running_vm.pk, slug="power-off")

    result = tasks.vm_operate.apply(args=[job.pk])

    assert result.successful()
    assert retries == [10, 20]
    assert len(calls) == 3
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    waits = [m for m in messages(job) if m.endswith("trying again later")]
    assert len(waits) == 2
    assert waits[0] == (
        f"Host {running_vm.host.name} did not answer (Cannot recv data: Connection reset by peer); trying again later"
    )
    assert not conn.lookupByUUIDString(str(running_vm.uuid)).isActive()
    running_vm.refresh_from_db()
    assert running_vm.state == "shutoff"


def test_vm_operate_last_attempt_fails_the_job_cleanly(running_vm, conn, member, monkeypatch, settings, retries):
    settings.PORTAL_RETRY_LIMIT, settings.PORTAL_RETRY_BASE_SECONDS = 3, 5
    host_down_for(monkeypatch, "domain_suspend", attempts=100)
    job = vm_action_request(actor=member, vm_id=running_vm.pk, slug="suspend")

    result = tasks.vm_operate.apply(args=[job.pk])

    assert result.successful(), "the task itself ends normally: the job says what failed"
    assert retries == [5, 10, 20]
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error == "Cannot recv data: Connection reset by peer"
    assert job.finished_at is not None
    assert len([m for m in messages(job) if m.endswith("trying again later")]) == 3
    assert conn.lookupByUUIDString(str(running_vm.uuid)).state()[0] == libvirt.VIR_DOMAIN_RUNNING


def test_vm_operate_without_retries_fails_at_once(running_vm, member, settings, retries, libvirt_test_host):
    settings.PORTAL_RETRY_LIMIT = 0
    job = vm_action_request(actor=member, vm_id=running_vm.pk, slug="reboot")
    Host.objects.filter(pk=libvirt_test_host.pk).update(uri=UNREACHABLE_URI)

    tasks.vm_operate.apply(args=[job.pk])

    assert retries == []
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "127.0.0.1" in job.error
    assert not any(m.endswith("trying again later") for m in messages(job))


def test_vm_operate_task_of_a_finished_job_does_nothing(running_vm, member, settings):
    job = vm_action_request(actor=member, vm_id=running_vm.pk, slug="suspend")
    tasks.vm_operate.apply(args=[job.pk])
    job.refresh_from_db()
    log = list(job.log)
    tasks.vm_operate.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.log == log


# --- vm_provision ---


def test_vm_provision_retries_then_builds(approved, conn, monkeypatch, settings, retries):
    settings.PORTAL_RETRY_LIMIT, settings.PORTAL_RETRY_BASE_SECONDS = 4, 1
    host_down_for(monkeypatch, "domain_define", attempts=1)

    tasks.vm_provision.apply(args=[approved.pk])

    assert retries == [1]
    job = Job.objects.get(pk=approved.pk)
    assert job.state == JobState.SUCCEEDED, job.error
    assert any(m.endswith("trying again later") for m in messages(job))
    vm = VirtualMachine.objects.get(request_id=approved.request_id)
    assert conn.lookupByUUIDString(str(vm.uuid)).isActive()
    assert [d.name() for d in conn.listAllDomains(0)].count("blue.web") == 1


def test_vm_provision_last_attempt_fails_and_frees_the_quota(approved, conn, settings, retries, libvirt_test_host):
    settings.PORTAL_RETRY_LIMIT, settings.PORTAL_RETRY_BASE_SECONDS = 1, 30
    vm_uuid = str(VirtualMachine.objects.get(request_id=approved.request_id).uuid)
    Host.objects.filter(pk=libvirt_test_host.pk).update(uri=UNREACHABLE_URI)

    result = tasks.vm_provision.apply(args=[approved.pk])

    assert result.successful()
    assert retries == [30]
    job = Job.objects.get(pk=approved.pk)
    assert job.state == JobState.FAILED
    assert "127.0.0.1" in job.error
    request = ResourceRequest.objects.get(pk=approved.request_id)
    assert request.state == RequestState.FAILED
    assert not VirtualMachine.objects.filter(request_id=approved.request_id).exists()
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByUUIDString(vm_uuid)


def test_vm_provision_without_retries_fails_at_once(approved, settings, retries, libvirt_test_host):
    settings.PORTAL_RETRY_LIMIT = 0
    Host.objects.filter(pk=libvirt_test_host.pk).update(uri=UNREACHABLE_URI)
    tasks.vm_provision.apply(args=[approved.pk])
    assert retries == []
    job = Job.objects.get(pk=approved.pk)
    assert job.state == JobState.FAILED
    assert ResourceRequest.objects.get(pk=approved.request_id).state == RequestState.FAILED


# --- periodic fan-out ---


@pytest.fixture
def three_hosts(db):
    return [HostFactory(name=f"kvm{i}", uri=f"qemu+ssh://root@kvm{i}/system") for i in range(3)]


@pytest.mark.parametrize(
    ("fan_out", "each"),
    [(tasks.hosts_reconcile, "hypervisors.tasks.host_reconcile"), (tasks.hosts_probe, "hypervisors.tasks.host_probe")],
)
def test_periodic_tasks_send_one_task_per_host(three_hosts, sent, fan_out, each):
    fan_out()
    assert sorted(call["args"] for call in sent) == sorted((host.pk,) for host in three_hosts)
    assert {call["task"] for call in sent} == {each}
    assert all("queue" not in call for call in sent), "the default queue unless host queues are on"


@pytest.mark.parametrize(
    ("fan_out", "each"),
    [(tasks.hosts_reconcile, "hypervisors.tasks.host_reconcile"), (tasks.hosts_probe, "hypervisors.tasks.host_probe")],
)
def test_periodic_tasks_use_host_queues(three_hosts, sent, settings, fan_out, each):
    settings.PORTAL_HOST_QUEUES = True
    fan_out()
    assert sorted((call["args"], call["queue"]) for call in sent) == sorted(
        ((host.pk,), f"host.{host.name}") for host in three_hosts
    )


def test_periodic_tasks_with_no_hosts_send_nothing(sent, db):
    tasks.hosts_reconcile()
    tasks.hosts_probe()
    assert sent == []


def test_host_reconcile_and_probe_tasks_do_their_work(libvirt_test_host, conn):
    Host.objects.filter(pk=libvirt_test_host.pk).update(cpus=None, is_reachable=False)
    tasks.host_probe.apply(args=[libvirt_test_host.pk])
    tasks.host_reconcile.apply(args=[libvirt_test_host.pk])
    host = Host.objects.get(pk=libvirt_test_host.pk)
    assert (host.cpus, host.is_reachable) == (16, True)
    assert HostStatSample.objects.filter(host=host).count() == 1
