"""POST endpoints of VM actions, resize and snapshots, and what the VM page offers. No hypervisor is contacted."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from hypervisors.choices import VMJobAction
from hypervisors.models import Snapshot, VirtualMachine, VMStatSample
from portal.choices import JobState
from portal.jobs import job_create
from portal.models import Job
from tests.support.pages import HTMX, csrf_post, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_hypervisor")]


def buttons(response) -> list[str]:
    """Slugs of the action buttons, in page order."""
    return re.findall(r'<button type="button" class="action action-([a-z-]+)"', response.content.decode())


def button(response, slug) -> str:
    match = re.search(rf'<button type="button" class="action action-{slug}"[^>]*>', response.content.decode())
    assert match, slug
    return match.group(0)


def jobs_of(vm):
    return Job.objects.filter(target_type__model="virtualmachine", target_id=str(vm.pk))


@pytest.fixture
def vm(make_vm):
    return make_vm(name="web", state="running")


def action_url(vm, slug):
    return f"/vms/{vm.uuid}/actions/{slug}/"


# --- access and CSRF ---


def test_anonymous_is_sent_to_login(vm):
    for url in (action_url(vm, "reboot"), f"/vms/{vm.uuid}/resize/", f"/vms/{vm.uuid}/snapshots/snapshot-create/"):
        response = Client().post(url, {"vcpus": "2", "memory_mib": "256", "name": "s1"})
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")
    assert not jobs_of(vm).exists()


def test_outsider_gets_404_and_nothing_is_queued(client_for, outsider, vm):
    client = client_for(outsider)
    for url, data in (
        (action_url(vm, "reboot"), {}),
        (f"/vms/{vm.uuid}/resize/", {"vcpus": "2", "memory_mib": "256"}),
        (f"/vms/{vm.uuid}/snapshots/snapshot-create/", {"name": "s1"}),
    ):
        response = csrf_post(client, url, data, htmx=True)
        assert response.status_code == 404, url
        assert "web" not in text(response)
    assert not jobs_of(vm).exists()
    vm.refresh_from_db()
    assert vm.vcpus == 1


def test_viewer_gets_403_and_nothing_is_queued(client_for, viewer, vm):
    client = client_for(viewer)
    assert csrf_post(client, action_url(vm, "reboot"), htmx=True).status_code == 403
    assert csrf_post(client, f"/vms/{vm.uuid}/resize/", {"vcpus": "2", "memory_mib": "256"}).status_code == 403
    assert csrf_post(client, f"/vms/{vm.uuid}/snapshots/snapshot-create/", {"name": "s1"}).status_code == 403
    assert not jobs_of(vm).exists()
    vm.refresh_from_db()
    assert vm.vcpus == 1


def test_post_without_csrf_token_is_refused(client_for, member, vm):
    client = client_for(member)
    assert client.post(action_url(vm, "reboot"), headers=HTMX).status_code == 403
    assert client.post(f"/vms/{vm.uuid}/resize/", {"vcpus": "2", "memory_mib": "256"}).status_code == 403
    assert client.post(f"/vms/{vm.uuid}/snapshots/snapshot-create/", {"name": "s1"}).status_code == 403
    assert not jobs_of(vm).exists()


def test_get_is_not_an_action(client_for, member, vm):
    assert client_for(member).get(action_url(vm, "reboot")).status_code == 405
    assert not jobs_of(vm).exists()


# --- power actions ---


def test_member_action_returns_the_status_fragment_with_the_queued_job(client_for, member, vm):
    response = csrf_post(client_for(member), action_url(vm, "reboot"), htmx=True)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "vm-changed"
    job = jobs_of(vm).get()
    assert (job.action, job.state, job.requested_by) == (VMJobAction.VM_REBOOT, JobState.QUEUED, member)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="vm-status"')
    assert "<body" not in body
    assert f'id="job-{job.pk}"' in body
    assert "every 2s" in body, "the fragment polls while the job runs"
    assert buttons(response) == [], "no buttons while busy"
    assert "An operation is running; actions return when it ends." in text(response)


def test_refused_action_shows_the_error_and_queues_nothing(client_for, member, vm):
    response = csrf_post(client_for(member), action_url(vm, "start"), htmx=True)
    assert response.status_code == 200
    assert '<p class="error-text" role="alert">A VM that is running cannot be asked to start.</p>' in text(response)
    assert not jobs_of(vm).exists()
    assert buttons(response) == ["shutdown", "reboot", "suspend", "reset", "power-off", "delete"]


@pytest.mark.parametrize("slug", ["bogus", "resize", "snapshot-create"])
def test_unknown_or_form_action_is_an_error_not_a_crash(client_for, member, vm, slug):
    response = csrf_post(client_for(member), action_url(vm, slug), htmx=True)
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert not jobs_of(vm).exists()


def test_second_action_while_busy_is_refused(client_for, member, vm):
    client = client_for(member)
    csrf_post(client, action_url(vm, "suspend"), htmx=True)
    response = csrf_post(client, action_url(vm, "reboot"), htmx=True)
    assert "Another operation on this VM is still running; wait until it ends." in text(response)
    assert list(jobs_of(vm).values_list("action", flat=True)) == [VMJobAction.VM_SUSPEND]


def test_non_htmx_post_redirects_with_a_message(client_for, member, vm):
    client = client_for(member)
    response = csrf_post(client, action_url(vm, "suspend"))
    assert response.status_code == 302
    assert response.url == f"/vms/{vm.uuid}/"
    page = client.get(response.url)
    assert "Queued; the page follows its progress." in text(page)
    assert jobs_of(vm).get().action == VMJobAction.VM_SUSPEND


def test_non_htmx_refused_post_redirects_with_the_error(client_for, member, make_vm):
    vm = make_vm(state="shutoff")
    client = client_for(member)
    response = csrf_post(client, action_url(vm, "suspend"), follow=True)
    assert response.redirect_chain == [(f"/vms/{vm.uuid}/", 302)]
    assert "A VM that is shut off cannot be asked to suspend." in text(response)
    assert not jobs_of(vm).exists()


# --- buttons offered ---


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("running", ["shutdown", "reboot", "suspend", "reset", "power-off", "delete"]),
        ("shutoff", ["start", "delete"]),
        ("crashed", ["start", "delete"]),
        ("paused", ["resume", "power-off", "delete"]),
        ("missing", ["delete"]),
        ("building", []),
    ],
)
def test_buttons_match_the_state(client_for, member, make_vm, state, expected):
    vm = make_vm(state=state)
    response = client_for(member).get(f"/vms/{vm.uuid}/", headers=HTMX)
    assert buttons(response) == expected


def test_running_vm_button_labels(client_for, member, vm):
    response = client_for(member).get(f"/vms/{vm.uuid}/")
    labels = re.findall(r'class="action action-[a-z-]+"[^>]*>([^<]+)</button>', response.content.decode())
    assert labels == ["Shut down", "Reboot", "Suspend", "Reset", "Force off", "Delete"]
    assert "Start" not in labels
    assert f'hx-post="/vms/{vm.uuid}/actions/shutdown/"' in button(response, "shutdown")


def test_viewer_sees_no_buttons_and_no_forms(client_for, viewer, vm):
    Snapshot.objects.create(vm=vm, name="nightly")
    response = client_for(viewer).get(f"/vms/{vm.uuid}/")
    assert response.status_code == 200
    assert buttons(response) == []
    assert 'id="vm-resize"' not in response.content.decode()
    assert "snapshots/snapshot-create/" not in response.content.decode()
    assert "nightly" in text(response), "the viewer sees the snapshots"
    assert "snapshots/snapshot-revert/" not in response.content.decode()


def test_no_buttons_while_a_job_runs(client_for, member, vm, team):
    job = job_create(action=VMJobAction.VM_REBOOT, team=team, requested_by=member, target=vm)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING)
    response = client_for(member).get(f"/vms/{vm.uuid}/", headers=HTMX)
    assert buttons(response) == []
    assert "every 2s" in response.content.decode()


def test_destructive_buttons_ask_for_confirmation(client_for, member, vm):
    response = client_for(member).get(f"/vms/{vm.uuid}/", headers=HTMX)
    assert 'hx-confirm="Delete this VM, its disk and its snapshots for good?"' in button(response, "delete")
    assert 'hx-confirm="Pull the plug? Unsaved data in the VM is lost."' in text(response)
    assert "hx-confirm" in button(response, "power-off")
    for slug in ("shutdown", "reboot", "suspend"):
        assert "hx-confirm" not in button(response, slug), slug


# --- resize ---


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("vcpus", "0"),
        ("vcpus", "-1"),
        ("vcpus", str(10**30)),
        ("vcpus", "65"),
        ("vcpus", "two"),
        ("vcpus", "1.5"),
        ("vcpus", ""),
        ("memory_mib", "0"),
        ("memory_mib", "-1"),
        ("memory_mib", "31"),
        ("memory_mib", str(10**30)),
        ("memory_mib", "lots"),
    ],
)
def test_resize_bad_input_is_a_form_error_and_changes_nothing(client_for, member, vm, field, value):
    data = {"vcpus": "2", "memory_mib": "256", field: value}
    client = client_for(member)
    response = csrf_post(client, f"/vms/{vm.uuid}/resize/", data, htmx=True)
    assert response.status_code == 200
    assert "HX-Trigger" not in response
    assert field in response.context["resize_form"].errors
    assert re.search(r'<div class="field-errors"><ul class="errorlist"', response.content.decode())
    assert csrf_post(client, f"/vms/{vm.uuid}/resize/", data).status_code == 400
    vm.refresh_from_db()
    assert (vm.vcpus, vm.memory_mib) == (1, 128)
    assert not jobs_of(vm).exists()


def test_resize_over_quota_names_the_resource(client_for, member, vm):
    response = csrf_post(client_for(member), f"/vms/{vm.uuid}/resize/", {"vcpus": "1", "memory_mib": "8192"}, htmx=True)
    assert response.status_code == 200
    errors = response.context["resize_form"].errors
    assert errors["memory_mib"] == ["Memory: over quota by 4096 MiB (asked 8064 MiB, 3968 MiB left)"]
    assert "Memory: over quota by 4096 MiB" in text(response)
    assert "HX-Trigger" not in response
    vm.refresh_from_db()
    assert vm.memory_mib == 128
    assert not jobs_of(vm).exists()


def test_resize_to_the_same_sizes_is_a_form_error(client_for, member, vm):
    response = csrf_post(client_for(member), f"/vms/{vm.uuid}/resize/", {"vcpus": "1", "memory_mib": "128"}, htmx=True)
    assert response.context["resize_form"].non_field_errors() == ["These are already the VM's sizes."]
    assert not jobs_of(vm).exists()


def test_resize_success(client_for, member, vm):
    response = csrf_post(client_for(member), f"/vms/{vm.uuid}/resize/", {"vcpus": "2", "memory_mib": "512"}, htmx=True)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "vm-changed"
    assert response.content.decode().lstrip().startswith('<form id="vm-resize"')
    job = jobs_of(vm).get()
    assert (job.action, job.params["vcpus"], job.params["memory_mib"]) == (VMJobAction.VM_RESIZE, 2, 512)
    vm.refresh_from_db()
    assert (vm.vcpus, vm.memory_mib) == (2, 512)


# --- snapshots ---


@pytest.mark.parametrize(
    "name", ["<", "]]>", "<script>alert(1)</script>", "snäp", "日本", "a" * 300, "", "Upper", "-dash", "a b"]
)
def test_bad_snapshot_names_are_refused(client_for, member, vm, name):
    for slug in ("snapshot-create", "snapshot-revert", "snapshot-delete"):
        response = csrf_post(client_for(member), f"/vms/{vm.uuid}/snapshots/{slug}/", {"name": name}, htmx=True)
        assert response.status_code == 200
        alert = re.search(r'<p class="error-text" role="alert">(.*?)</p>', response.content.decode(), re.S)
        assert alert, "the error is shown"
        assert alert.group(1).strip()
        assert "<script>alert(1)" not in response.content.decode(), "never echoed unescaped"
    assert not jobs_of(vm).exists()
    assert not Snapshot.objects.exists()


def test_snapshot_create_through_the_page(client_for, member, vm):
    response = csrf_post(client_for(member), f"/vms/{vm.uuid}/snapshots/snapshot-create/", {"name": "s1"}, htmx=True)
    assert response["HX-Trigger"] == "vm-changed"
    assert 'role="alert"' not in response.content.decode()
    job = jobs_of(vm).get()
    assert (job.action, job.params) == (VMJobAction.VM_SNAPSHOT_CREATE, {"name": "s1"})


def test_snapshot_name_taken_or_unknown_is_shown(client_for, member, vm):
    Snapshot.objects.create(vm=vm, name="s1")
    client = client_for(member)
    taken = csrf_post(client, f"/vms/{vm.uuid}/snapshots/snapshot-create/", {"name": "s1"}, htmx=True)
    assert "The VM already has a snapshot named 's1'." in text(taken)
    unknown = csrf_post(client, f"/vms/{vm.uuid}/snapshots/snapshot-revert/", {"name": "s2"}, htmx=True)
    assert "The VM has no snapshot named 's2'." in text(unknown)
    assert not jobs_of(vm).exists()


def test_status_fragment_lists_snapshots_with_their_buttons(client_for, member, vm):
    Snapshot.objects.create(vm=vm, name="before-upgrade", created_by=member)
    Snapshot.objects.create(vm=vm, name="after-upgrade", created_by=member)
    response = client_for(member).get(f"/vms/{vm.uuid}/", headers=HTMX)
    body = response.content.decode()
    table = re.search(r'<table class="snapshots">(.*?)</table>', body, re.S).group(1)
    rows = re.findall(r"<tr><td>([a-z-]+)</td>", table)
    assert rows == ["before-upgrade", "after-upgrade"]
    assert 'hx-vals=\'{"name": "before-upgrade"}\'' in body
    assert f'hx-post="/vms/{vm.uuid}/snapshots/snapshot-revert/"' in body
    assert 'hx-confirm="Delete snapshot after-upgrade?"' in body
    assert "No snapshots." not in body


def test_status_fragment_without_snapshots(client_for, member, vm):
    assert "No snapshots." in text(client_for(member).get(f"/vms/{vm.uuid}/", headers=HTMX))


# --- the VM page ---


def test_vm_page_draws_graphs_from_samples(client_for, member, make_vm):
    vm = make_vm(vcpus=2)
    now = timezone.now()
    for minutes, cpu_s, rss_mib in ((10, 0, 100), (5, 60, 120), (2, 60 + 36, 140)):
        VMStatSample.objects.create(
            vm=vm,
            taken_at=now - timedelta(minutes=minutes),
            cpu_time_ns=cpu_s * 10**9,
            memory_used_kib=rss_mib * 1024,
            disk_read_bytes=0,
            disk_write_bytes=0,
            net_rx_bytes=0,
            net_tx_bytes=0,
        )
    VMStatSample.objects.create(vm=make_vm(name="other"), taken_at=now, cpu_time_ns=10**15)

    response = client_for(member).get(f"/vms/{vm.uuid}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert len(re.findall(r'<svg [^>]*class="graph graph-', body)) == 6
    assert body.count('<polyline points="') == 6
    graphs = {series.label: series for series, _svg in response.context["graphs"]}
    # 36 s of CPU in 180 s over 2 vCPUs is 10 %; 60 s in 300 s is 10 % as well
    assert [round(v, 1) for _, v in graphs["CPU"].points] == [10.0, 10.0]
    assert "CPU: <strong>10.0 %</strong>" in body
    assert "Memory in use: <strong>140.0 MiB</strong>" in body


def test_vm_page_without_samples_still_draws_empty_graphs(client_for, member, vm):
    response = client_for(member).get(f"/vms/{vm.uuid}/")
    body = response.content.decode()
    assert len(re.findall(r'<svg [^>]*class="graph graph-', body)) == 6
    assert "<polyline" not in body


def test_vm_page_offers_forms_to_members(client_for, member, vm):
    body = client_for(member).get(f"/vms/{vm.uuid}/").content.decode()
    assert 'id="vm-resize"' in body
    assert 'name="vcpus" value="1"' in body
    assert f'hx-post="/vms/{vm.uuid}/snapshots/snapshot-create/"' in body


def test_vm_missing_on_host_is_explained(client_for, member, make_vm):
    vm = make_vm(state="missing")
    response = client_for(member).get(f"/vms/{vm.uuid}/", headers=HTMX)
    assert "The domain is gone from its host; ask an administrator." in text(response)
    assert buttons(response) == ["delete"]


def test_next_boot_note_is_shown(client_for, member, make_vm):
    vm = make_vm(next_boot_note="New memory apply at the next boot.")
    response = client_for(member).get(f"/vms/{vm.uuid}/", headers=HTMX)
    assert '<dd id="next-boot">New memory apply at the next boot.</dd>' in response.content.decode()


def test_deleted_vm_fragment_redirects_htmx_to_requests(client_for, member, vm):
    uuid = vm.uuid
    VirtualMachine.objects.filter(pk=vm.pk).delete()
    response = client_for(member).get(f"/vms/{uuid}/", headers=HTMX)
    assert response.status_code == 404
    assert response["HX-Redirect"] == "/requests/"


def test_snapshot_endpoint_cannot_delete_the_vm(client_for, member, vm):
    Snapshot.objects.create(vm=vm, name="nightly")
    response = csrf_post(client_for(member), f"/vms/{vm.uuid}/snapshots/delete/", {"name": "nightly"}, htmx=True)
    assert "There is no snapshot action 'delete'." in text(response)
    assert not jobs_of(vm).exists()
    assert VirtualMachine.objects.filter(pk=vm.pk).exists()
