"""Which queue a job goes to, decided from its target: a host's own queue when host queues are on."""

from __future__ import annotations

import pytest

from config.celery import app as celery_app
from hypervisors.choices import VMJobAction
from portal.jobs import job_create
from portal.queues import queue_for, send_to_queue_of
from tests.factories import DockerHostFactory, HostFactory, VirtualMachineFactory

pytestmark = pytest.mark.django_db

PROBE_TASK = "hypervisors.tasks.host_probe"


@pytest.fixture
def host_queues(settings):
    settings.PORTAL_HOST_QUEUES = True


def test_hosts_and_their_vms_have_a_queue_when_host_queues_are_on(host_queues):
    host = HostFactory(name="kvm1")
    assert queue_for(host) == "host.kvm1"
    assert queue_for(VirtualMachineFactory(host=host)) == "host.kvm1"
    assert queue_for(VirtualMachineFactory(host=None)) is None, "an unplaced VM: any worker"


def test_everything_goes_to_the_default_queue_when_host_queues_are_off(settings):
    settings.PORTAL_HOST_QUEUES = False
    host = HostFactory()
    assert queue_for(host) is None
    assert queue_for(VirtualMachineFactory(host=host)) is None


def test_targets_that_name_no_queue_go_to_the_default_one(host_queues, team):
    assert queue_for(team) is None
    assert queue_for(DockerHostFactory()) is None
    assert queue_for(None) is None


def test_the_job_row_keeps_the_queue_of_its_target(host_queues, team, member):
    vm = VirtualMachineFactory(team=team, host=HostFactory(name="kvm2"))
    job = job_create(action=VMJobAction.VM_START, team=team, requested_by=member, target=vm)
    assert job.queue == "host.kvm2"


def test_fan_out_tasks_go_to_the_queue_of_their_target(host_queues, sent):
    task = celery_app.tasks[PROBE_TASK]
    send_to_queue_of(task, (7,), HostFactory(name="kvm3"))
    send_to_queue_of(task, (8,), None)
    assert sent == [{"task": PROBE_TASK, "args": (7,), "queue": "host.kvm3"}, {"task": PROBE_TASK, "args": (8,)}]
