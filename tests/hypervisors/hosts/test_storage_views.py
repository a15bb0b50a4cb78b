"""Storage pages, rendered from rows alone: the administrators' page with its guarded delete, and a team's
own volumes (staff vs member vs another team)."""

from __future__ import annotations

import pytest
from django.test import Client

from hypervisors.models import StoragePool, StorageVolume
from portal.models import Job, Team
from tests.factories import HostFactory, UserFactory, VirtualMachineFactory
from tests.support.pages import csrf_post, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_hypervisor")]

GIB = 1024**3


@pytest.fixture
def stored(team, outsider):
    """A pool 85% full with a blue VM's disk, a red VM's disk and an orphan."""
    host = HostFactory(name="kvm1")
    pool = StoragePool.objects.create(
        host=host, name="vms", capacity=100 * GIB, allocation=85 * GIB, available=15 * GIB, active=True
    )
    blue = VirtualMachineFactory(team=team, host=host, name="blue-web")
    red = VirtualMachineFactory(team=Team.objects.get(slug="red"), host=host, name="red-db")

    def volume(name, owner=None, **values):
        return StorageVolume.objects.create(
            pool=pool, name=name, path=f"/vms/{name}", capacity=GIB, allocation=GIB // 2, owner=owner,
            kind="disk" if owner else "other", **values,
        )  # fmt: skip

    return {
        "host": host,
        "blue": volume(blue.volume_name, blue),
        "red": volume(red.volume_name, red),
        "orphan": volume("stray.img", orphan=True),
    }


def test_staff_see_every_pool_with_its_figures_owners_and_orphans(client_for, staff, stored):
    response = client_for(staff).get("/hosts/storage/")
    assert response.status_code == 200
    page = text(response)
    for figure in (100 * GIB, 85 * GIB, 15 * GIB):
        assert f'value="{figure}"' in page
    assert 'style="width: 85%"' in page, "the dashboard's bar, filled to the allocation"
    assert "over 80% full" in page
    assert "blue/blue-web" in page and "red/red-db" in page
    assert f'href="/vms/{stored["blue"].owner.uuid}/"' in page
    assert "orphan" in page
    assert f'href="/hosts/storage/volumes/{stored["orphan"].pk}/delete/"' in page
    assert f'href="/hosts/storage/volumes/{stored["blue"].pk}/delete/"' not in page, "only orphans are offered"


def test_the_host_page_warns_past_the_warning_fill(client_for, staff, stored, settings):
    page = text(client_for(staff).get(f"/hosts/{stored['host'].pk}/"))
    assert "Pool vms is 85% full (warning above 80%)" in page
    settings.PORTAL_POOL_FILL_WARN = 0.9
    assert "85% full" not in text(client_for(staff).get(f"/hosts/{stored['host'].pk}/"))


@pytest.mark.parametrize("who", ["member", "team_admin", "viewer", "outsider"])
def test_non_staff_get_403_on_the_admin_pages(request, client_for, stored, who):
    client = client_for(request.getfixturevalue(who))
    for url in ("/hosts/storage/", f"/hosts/storage/volumes/{stored['orphan'].pk}/delete/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "stray.img" not in text(response)
    response = csrf_post(client, f"/hosts/storage/volumes/{stored['orphan'].pk}/delete/", {"confirm": "stray.img"})
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_anonymous_is_sent_to_login(stored):
    for url in ("/hosts/storage/", "/vms/volumes/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")


def test_members_see_their_teams_volumes_only(client_for, member, outsider, stored):
    page = text(client_for(member).get("/vms/volumes/"))
    assert stored["blue"].name in page and "blue-web" in page and "vms" in page
    assert stored["red"].name not in page and "red-db" not in page
    assert "stray.img" not in page, "orphans belong to no team"
    other = text(client_for(outsider).get("/vms/volumes/"))
    assert stored["red"].name in other
    assert stored["blue"].name not in other
    stranger = UserFactory(username="stranger")
    assert "None." in text(client_for(stranger).get("/vms/volumes/"))


def test_the_delete_asks_for_confirmation_then_queues_a_job(client_for, staff, stored, sent):
    client = client_for(staff)
    url = f"/hosts/storage/volumes/{stored['orphan'].pk}/delete/"
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Type the volume's name to confirm" in text(confirm)
    assert client.post(url, {"confirm": "stray.img"}).status_code == 403, "no CSRF token, no delete"
    wrong = csrf_post(client, url, {"confirm": "something"})
    assert wrong.status_code == 400
    assert "Type the volume" in text(wrong)
    assert not Job.objects.exists()
    response = csrf_post(client, url, {"confirm": "stray.img"}, follow=True)
    job = Job.objects.get()
    assert response.redirect_chain == [(f"/hosts/storage/#pool-{stored['orphan'].pool_id}", 302)]
    assert f"Deleting stray.img as job {job.pk}" in text(response)
    assert job.params["volume"] == "stray.img"


def test_a_volume_in_use_cannot_be_deleted(client_for, staff, stored, sent):
    url = f"/hosts/storage/volumes/{stored['blue'].pk}/delete/"
    client = client_for(staff)
    assert "Only orphan volumes may be deleted" in text(client.get(url))
    response = csrf_post(client, url, {"confirm": stored["blue"].name}, follow=True)
    assert "is in use" in text(response)
    assert not Job.objects.exists()


def test_an_unknown_volume_is_404(client_for, staff):
    assert client_for(staff).get("/hosts/storage/volumes/999999/delete/").status_code == 404


def test_the_storage_page_costs_the_same_queries_at_any_size(client_for, staff, stored, django_assert_max_num_queries):
    client = client_for(staff)
    client.get("/hosts/storage/")
    pool = StoragePool.objects.get()
    for i in range(30):
        StorageVolume.objects.create(pool=pool, name=f"more-{i}", path=f"/vms/more-{i}", capacity=1, allocation=1)
    with django_assert_max_num_queries(8):
        client.get("/hosts/storage/")
