"""The real stack when things break: a worker killed in the middle of a build, libvirtd gone.

These tests stop and freeze the host's libvirtd; they always bring it back
(``libvirtd_frozen`` / ``libvirtd_down`` in tests/support/qemu.py), with its ``default``
network active.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import libvirt
import pytest
import redis
from django.conf import settings
from django.test import Client

from hypervisors.choices import VMState
from hypervisors.drivers.libvirt_driver import STATE_NAMES
from hypervisors.hosts import inventory
from hypervisors.models import VirtualMachine
from hypervisors.vms.services import vm_action_request
from portal.choices import JobState, RequestState
from portal.models import Job
from portal.services import request_approve
from tests.factories import UserFactory
from tests.support.processes import broker_reset, job_wait, worker_command
from tests.support.qemu import libvirtd_down, libvirtd_frozen, virsh, vm_build, vm_request
from tests.support.stack import wait_until

pytestmark = [pytest.mark.integration]


BUILD_TIMEOUT = 180
#: Seconds after which Redis gives an unacknowledged task to another worker (both workers of the test).
VISIBILITY_TIMEOUT = 5


def _worker_ready(worker) -> bool:
    return " ready." in worker.log() or not worker.running()


def _start_worker(processes, label: str, env: dict[str, str]):
    worker = processes(label, worker_command(label), env)
    wait_until(lambda: _worker_ready(worker), 60, f"worker {label} to be ready")
    assert worker.running(), worker.log()
    return worker


def _steps(job_id: int) -> list[str]:
    return [entry["message"] for entry in Job.objects.get(pk=job_id).log]


def _unacked(task_id: str) -> float | None:
    """When Redis handed the task to a worker that has not acknowledged it; None if no worker holds it."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for tag, payload in client.hgetall("unacked").items():
        message = json.loads(payload)[0]
        if message.get("headers", {}).get("id") == task_id:
            score = client.zscore("unacked_index", tag)
            return float(score) if score is not None else None
    return None


def test_worker_killed_in_the_middle_of_a_build(qemu_host, guest_image, live_team, live_member, processes):
    """A worker dies (SIGKILL) inside a libvirt call; Redis gives its task to the next worker, which finishes it."""
    broker_reset()
    env = {"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    request = vm_request(live_team, live_member, guest_image, "crash")
    first = _start_worker(processes, "worker1", env)
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    second = None
    try:
        # libvirtd frozen: the worker blocks in its first libvirt call, as on a hung host.
        with libvirtd_frozen():
            job = request_approve(actor=admin, request_id=request.pk)
            # Its first libvirt call is bringing up the team's own network on the host.
            wait_until(
                lambda: any(step.startswith("Joining team network") for step in _steps(job.pk)),
                60,
                "the worker to reach its first libvirt step",
            )
            time.sleep(1)  # now inside libvirt.open(), waiting for a daemon that does not answer
            job.refresh_from_db()
            assert job.state == JobState.RUNNING
            first.kill()
        assert not first.running()

        # The task was delivered and never acknowledged: Redis still holds it for a worker.
        delivered_at = _unacked(str(job.celery_task_id))
        assert delivered_at is not None, "the killed worker's task is not among the unacknowledged messages"
        # A worker restores unacknowledged tasks older than the visibility timeout when it starts
        # (kombu scans at start-up, then only every ~100 s): start the second one after that age.
        time.sleep(max(0.0, delivered_at + VISIBILITY_TIMEOUT + 1 - time.time()))
        second = _start_worker(processes, "worker2", env)
        job = job_wait(job.pk, BUILD_TIMEOUT, "the redelivered build")
        assert job.state == JobState.SUCCEEDED, f"{job.error}\n{job.log}\n{second.log()}"
        steps = _steps(job.pk)
        restart = steps.index("Restarted after an interrupted run")
        assert steps[restart - 1].startswith("Joining team network"), steps  # where the first worker hung
        assert sum(step.startswith("Creating a") for step in steps) == 1, steps
        request.refresh_from_db()
        assert request.state == RequestState.FULFILLED
        vm = VirtualMachine.objects.get(request=request)
        assert vm.state == VMState.RUNNING

        # Exactly one domain and one disk for the VM, whatever the first worker had done.
        conn = libvirt.open("qemu:///system")
        try:
            domains = [d for d in conn.listAllDomains(0) if d.name().startswith(f"{live_team.slug}.")]
            assert [(d.name(), d.UUIDString()) for d in domains] == [(vm.domain_name, str(vm.uuid))]
            assert domains[0].state()[0] == libvirt.VIR_DOMAIN_RUNNING
            pool = conn.storagePoolLookupByName(qemu_host.storage_pool)
            pool.refresh(0)
            volumes = sorted(name for name in pool.listVolumes() if name.startswith(str(vm.uuid)))
            assert volumes == sorted([vm.volume_name, vm.seed_volume_name]), "one disk and one first-boot seed"
        finally:
            conn.close()
        wait_until(lambda: _unacked(str(job.celery_task_id)) is None, 10, "the second worker to acknowledge")
    finally:
        for process in (first, second):
            if process is not None:
                process.stop()
        broker_reset()


def _qemu_pid(domain_name: str) -> int:
    return int(Path(f"/run/libvirt/qemu/{domain_name}.pid").read_text().strip())


def test_libvirtd_down_pages_answer_and_reconcile_converges(
    qemu_host_restartable, guest_image, live_team, live_member, celery_worker_process
):
    """Pages render from rows while libvirtd is gone; the reconcile marks the host, then catches up."""
    qemu_host = qemu_host_restartable
    vm = vm_build(live_team, live_member, guest_image, "orphan", celery_worker_process.log)
    celery_worker_process.stop()  # nothing but the test talks to libvirt from here on
    member = Client()
    member.force_login(live_member)
    pages = ["/", "/vms/", f"/vms/{vm.uuid}/"]
    qemu_pid = _qemu_pid(vm.domain_name)

    with libvirtd_down():
        for page in pages:
            started = time.monotonic()
            response = member.get(page)
            assert response.status_code == 200, page
            assert time.monotonic() - started < 5, f"{page} waited for the host"
        report = inventory.host_reconcile(host_id=qemu_host.pk)
        assert not report.reachable
        qemu_host.refresh_from_db()
        assert not qemu_host.is_reachable
        assert qemu_host.last_error
        assert qemu_host.unreachable_since is not None
        for page in pages:
            assert member.get(page).status_code == 200, page
        vm.refresh_from_db()
        assert vm.state == VMState.RUNNING, "the last known state stays while the host does not answer"
        # While nobody watches, the guest's QEMU process dies.
        os.kill(qemu_pid, signal.SIGKILL)
        wait_until(lambda: not Path(f"/proc/{qemu_pid}").exists(), 10, "the guest's QEMU process to end")

    assert "Active:         yes" in virsh("net-info", "default").stdout
    report = inventory.host_reconcile(host_id=qemu_host.pk)
    assert report.reachable
    qemu_host.refresh_from_db()
    assert (qemu_host.is_reachable, qemu_host.last_error, qemu_host.unreachable_since) == (True, "", None)
    conn = libvirt.open("qemu:///system")
    try:
        state = conn.lookupByUUIDString(str(vm.uuid)).state()[0]
    finally:
        conn.close()
    assert state in (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_CRASHED)
    vm.refresh_from_db()
    assert vm.state == STATE_NAMES[state]
    assert str(vm) in report.changed


def test_vm_action_retries_until_libvirtd_is_back(
    qemu_host_restartable, guest_image, live_team, live_member, processes
):
    """An action asked while libvirtd is gone stays running and is retried; it succeeds once libvirtd is back."""
    qemu_host = qemu_host_restartable
    broker_reset()
    env = {"PORTAL_RETRY_BASE_SECONDS": "1", "PORTAL_RETRY_LIMIT": "6"}
    worker = _start_worker(processes, "builder", env)
    vm = vm_build(live_team, live_member, guest_image, "patient", worker.log)
    worker.stop()
    # Queued while no worker runs, so that its first attempt meets a host without libvirtd.
    job = vm_action_request(actor=live_member, vm_id=vm.pk, slug="suspend")
    try:
        with libvirtd_down():
            worker = _start_worker(processes, "retrier", env)
            wait_until(
                lambda: sum("did not answer" in step for step in _steps(job.pk)) >= 2,
                60,
                "two attempts of the job against the stopped libvirtd",
            )
            job.refresh_from_db()
            assert job.state == JobState.RUNNING
        job = job_wait(job.pk, 120, "the retried action")
        assert job.state == JobState.SUCCEEDED, f"{job.error}\n{job.log}\n{worker.log()}"
        conn = libvirt.open("qemu:///system")
        try:
            assert conn.lookupByUUIDString(str(vm.uuid)).state()[0] == libvirt.VIR_DOMAIN_PAUSED
        finally:
            conn.close()
        inventory.host_reconcile(host_id=qemu_host.pk)
        vm.refresh_from_db()
        assert vm.state == VMState.PAUSED
    finally:
        worker.stop()
        broker_reset()
