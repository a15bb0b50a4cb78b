"""The API on the real stack: a token asks for a VM, an administrator approves through the API, a Celery
worker builds it on QEMU, the client polls the job, then deletes the VM through the API.

Checked through libvirt, not through the portal's own rows.
"""

from __future__ import annotations

import libvirt
import pytest

from portal.api.tokens import token_create
from tests.factories import UserFactory
from tests.support.api import api_throttle_cache, bearer  # noqa: F401 (a fixture)
from tests.support.stack import wait_until

pytestmark = [pytest.mark.integration]

BUILD_TIMEOUT = 180
DELETE_TIMEOUT = 120


def job_finished(client, location: str) -> bool:
    return client.get(location).json()["state"] in ("succeeded", "failed")


def test_a_token_asks_an_admin_approves_and_the_client_polls_until_the_vm_runs(
    qemu_host, guest_image, live_team, live_member, celery_worker_process
):
    _, member_secret = token_create(actor=live_member, name="ci")
    member = bearer(member_secret)
    ask = {"name": "api", "team": live_team.pk, "image": guest_image.pk, "vcpus": 1, "memory_mib": 96,
           "disk_gib": 1, "justification": "integration test"}  # fmt: skip
    response = member.post("/api/v1/vms/", ask, format="json", HTTP_IDEMPOTENCY_KEY="e2e")
    assert response.status_code == 201, response.json()
    request_location = response["Location"]

    _, admin_secret = token_create(actor=UserFactory(username="root", is_staff=True, is_superuser=True), name="ops")
    admin = bearer(admin_secret)
    pending = admin.get("/api/v1/requests/pending/").json()
    assert [r["name"] for r in pending] == ["api"]
    approved = admin.post(f"/api/v1/requests/{pending[0]['id']}/approve/", {"reason": "ok"}, format="json")
    assert approved.status_code == 202
    job_location = approved["Location"]

    wait_until(lambda: job_finished(member, job_location), BUILD_TIMEOUT, "the provisioning job")
    job = member.get(job_location).json()
    assert job["state"] == "succeeded", f"{job['error']}\n{celery_worker_process.log()}"
    assert member.get(request_location).json()["state"] == "fulfilled"
    vm = member.get("/api/v1/vms/?state=running").json()["results"][0]
    assert vm["name"] == "api"

    conn = libvirt.open("qemu:///system")
    try:
        domain = conn.lookupByUUIDString(vm["uuid"])
        assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        volume = f"{vm['uuid']}.qcow2"
        pool = conn.storagePoolLookupByName(qemu_host.storage_pool)
        pool.refresh(0)
        assert volume in pool.listVolumes()

        deleted = member.post(f"/api/v1/vms/{vm['uuid']}/actions/delete/", HTTP_IDEMPOTENCY_KEY="e2e-delete")
        assert deleted.status_code == 202
        wait_until(lambda: job_finished(member, deleted["Location"]), DELETE_TIMEOUT, "the delete job")
        assert member.get(deleted["Location"]).json()["state"] == "succeeded"
        assert vm["uuid"] not in {d.UUIDString() for d in conn.listAllDomains(0)}
        pool.refresh(0)
        assert volume not in pool.listVolumes()
        assert member.get(f"/api/v1/vms/{vm['uuid']}/").status_code == 404
    finally:
        conn.close()
