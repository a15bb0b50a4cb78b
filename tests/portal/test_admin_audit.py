"""Every admin change to hosts, engines, images, teams, memberships, quotas and address pools is audited."""

from __future__ import annotations

import pytest

from containers.models import DockerHost
from hypervisors.models import AddressPool, Host, Image
from portal.choices import Role
from portal.models import AuditEvent, Membership, Team
from tests.factories import HostFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_hypervisor", "sent")]


@pytest.fixture
def admin(admin_client):
    """Admin's own pages: Django's admin forms are tested here, CSRF is tested elsewhere."""
    return admin_client


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


def test_adding_a_host_is_audited(admin, admin_user):
    response = admin.post(
        "/admin/hypervisors/host/add/",
        {
            "name": "kvm9", "uri": "qemu+ssh://portal@kvm9.example.org/system", "accepts_new_vms": "on",
            "storage_pool": "default", "storage_path": "/var/lib/libvirt/images", "network": "default",
        },
    )  # fmt: skip
    assert response.status_code == 302
    (event,) = events("admin.host.added")
    host = Host.objects.get(name="kvm9")
    assert event.actor == admin_user and event.target_id == str(host.pk) and "uri" in event.detail


def test_changing_and_deleting_a_host_is_audited(admin, admin_user):
    host = HostFactory(name="kvm8", uri="qemu:///system")
    admin.post(
        f"/admin/hypervisors/host/{host.pk}/change/",
        {
            "name": "kvm8", "uri": "qemu:///session", "storage_pool": "default",
            "storage_path": "/var/lib/libvirt/images", "network": "default",
        },
    )  # fmt: skip
    (changed,) = events("admin.host.changed")
    assert "uri" in changed.detail and "accepts_new_vms" in changed.detail
    response = admin.post(f"/admin/hypervisors/host/{host.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    (deleted,) = events("admin.host.deleted")
    assert deleted.target_id == str(host.pk) and deleted.target_repr == "kvm8"


def test_engine_changes_are_audited_without_the_key(admin):
    key = "-----BEGIN PRIVATE KEY-----\nMIIEaudit-secret\n-----END PRIVATE KEY-----\n"
    cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    admin.post(
        "/admin/containers/dockerhost/add/",
        {
            "name": "remote", "base_url": "tcp://engine.example.org:2376", "publish_address": "127.0.0.1",
            "tls_ca_certificate": cert, "tls_client_certificate": cert, "tls_client_key": key, "_save": "Save",
        },
    )  # fmt: skip
    assert DockerHost.objects.filter(name="remote").exists()
    (event,) = events("admin.dockerhost.added")
    assert "TLS client key was replaced" in event.detail
    assert "audit-secret" not in event.detail


def test_image_changes_are_audited(admin, settings, tmp_path):
    settings.PORTAL_GUEST_IMAGE_DIR = tmp_path
    admin.post(
        "/admin/hypervisors/image/add/",
        {
            "name": "tiny", "os_name": "busybox", "boot_source": "kernel", "kernel_path": f"{tmp_path}/vmlinuz",
            "initrd_path": "", "kernel_cmdline": "console=ttyS0", "min_memory_mib": 64, "min_disk_gib": 1,
        },
    )  # fmt: skip
    assert Image.objects.filter(name="tiny").exists()
    assert len(events("admin.image.added")) == 1


def test_a_role_raised_in_membership_admin_is_audited_as_a_raise(admin, admin_user, team):
    user = UserFactory(username="climber")
    membership = MembershipFactory(user=user, team=team, role=Role.VIEWER)
    response = admin.post(
        f"/admin/portal/membership/{membership.pk}/change/",
        {"user": user.pk, "team": team.pk, "role": Role.TEAM_ADMIN},
    )
    assert response.status_code == 302
    (event,) = events("admin.membership.changed")
    assert event.team == team and event.actor == admin_user
    assert "role raised from viewer to team_admin for climber" in event.detail


def test_team_with_inline_quota_and_membership_is_audited(admin):
    user = UserFactory(username="newcomer")
    response = admin.post(
        "/admin/portal/team/add/",
        {
            "name": "green", "slug": "green",
            "quota-TOTAL_FORMS": "1", "quota-INITIAL_FORMS": "0", "quota-MIN_NUM_FORMS": "0",
            "quota-MAX_NUM_FORMS": "1", "quota-0-vcpus": "4", "quota-0-memory_mib": "1024", "quota-0-disk_gib": "10",
            "quota-0-vm_count": "2", "quota-0-container_count": "2", "quota-0-network_count": "1",
            "quota-0-snapshot_count": "5",
            "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "0", "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000", "memberships-0-user": user.pk,
            "memberships-0-role": Role.TEAM_ADMIN,
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    team = Team.objects.get(slug="green")
    assert [e.team for e in events("admin.team.added")] == [team]
    assert [e.team for e in events("admin.quota.added")] == [team]
    (membership,) = events("admin.membership.added")
    assert "role team_admin given to newcomer" in membership.detail


def test_quota_change_and_membership_delete_through_the_team_page_are_audited(admin):
    team = TeamFactory(name="amber", slug="amber")
    membership = MembershipFactory(team=team, user=UserFactory(username="leaver"))
    quota = team.quota
    response = admin.post(
        f"/admin/portal/team/{team.pk}/change/",
        {
            "name": "amber", "slug": "amber",
            "quota-TOTAL_FORMS": "1", "quota-INITIAL_FORMS": "1", "quota-MIN_NUM_FORMS": "0",
            "quota-MAX_NUM_FORMS": "1", "quota-0-id": quota.pk, "quota-0-team": team.pk, "quota-0-vcpus": "64",
            "quota-0-memory_mib": quota.memory_mib, "quota-0-disk_gib": quota.disk_gib,
            "quota-0-vm_count": quota.vm_count, "quota-0-container_count": quota.container_count,
            "quota-0-network_count": quota.network_count, "quota-0-snapshot_count": quota.snapshot_count,
            "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1", "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000", "memberships-0-id": membership.pk, "memberships-0-team": team.pk,
            "memberships-0-user": membership.user_id, "memberships-0-role": membership.role,
            "memberships-0-DELETE": "on",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    (quota_event,) = events("admin.quota.changed")
    assert "vcpus" in quota_event.detail and quota_event.team == team
    (deleted,) = events("admin.membership.deleted")
    assert deleted.target_id == str(membership.pk) and not Membership.objects.filter(pk=membership.pk).exists()


def test_address_pool_changes_are_audited(admin):
    admin.post("/admin/hypervisors/addresspool/add/", {"name": "lab", "cidr": "10.210.0.0/16", "subnet_prefix": 24})
    pool = AddressPool.objects.get(name="lab")
    (event,) = events("admin.addresspool.added")
    assert event.target_id == str(pool.pk)
    admin.post("/admin/hypervisors/addresspool/", {"action": "delete_selected", "_selected_action": [pool.pk],
                                                   "post": "yes"})  # fmt: skip
    assert not AddressPool.objects.filter(pk=pool.pk).exists()
    assert len(events("admin.addresspool.deleted")) == 1
