"""Django admin beyond deciding requests: host probes are queued jobs, and request lists read as people write sizes."""

import pytest

from tests.factories import HostFactory
from tests.support.pages import csrf_post, text

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/portal/resourcerequest/"


@pytest.fixture
def admin_client(client_for, staff):
    return client_for(staff)


def test_host_probe_is_queued_not_run(no_hypervisor, admin_client, django_capture_on_commit_callbacks):
    host = HostFactory(uri="qemu+ssh://root@unreachable/system", is_reachable=False)
    with django_capture_on_commit_callbacks() as callbacks:
        response = csrf_post(
            admin_client,
            "/admin/hypervisors/host/",
            {"action": "probe_selected", "index": "0", "_selected_action": [str(host.pk)]},
            follow=True,
        )
    assert response.status_code == 200
    assert "Probing 1 host(s); refresh in a few seconds." in text(response)
    assert len(callbacks) == 1, "the probe is a task sent after commit"
    host.refresh_from_db()
    assert host.is_reachable is False
    assert host.last_probed_at is None


def test_request_list_shows_whole_vcpus_for_vms_and_its_kind_by_name(admin_client, ask):
    ask("web")
    page = text(admin_client.get(CHANGELIST))
    assert "1 vCPU · " in page
    assert "1.00" not in page
    assert "Virtual machine" in page
