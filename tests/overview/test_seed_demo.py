"""The demo seed: idempotent, and passwords are shown only when an account is created."""

import re
from io import StringIO

import libvirt
import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import RequestFactory

from containers.models import DockerHost
from hypervisors.models import AddressPool, Host, Image
from portal.choices import Role
from portal.models import Membership, Quota, Team

pytestmark = pytest.mark.django_db

PASSWORD_LINE = re.compile(r"Created account (\w+) with password: (\S+)")


def login_request():
    """Logins are counted per address (django-axes), so authentication needs the request."""
    return RequestFactory().post("/accounts/login/")


def seed(*args):
    out = StringIO()
    call_command("seed_demo", "--no-probe", *args, stdout=out)
    return out.getvalue()


def test_seed_demo_twice_creates_everything_once(no_hypervisor, settings, tmp_path):
    settings.PORTAL_GUEST_IMAGE_DIR = tmp_path
    first = seed()
    second = seed()

    # the printed passwords work, and are printed only the first time
    passwords = dict(PASSWORD_LINE.findall(first))
    assert set(passwords) == {"admin", "alice"}
    assert authenticate(login_request(), username="admin", password=passwords["admin"]) is not None
    assert authenticate(login_request(), username="alice", password=passwords["alice"]) is not None
    assert not PASSWORD_LINE.search(second)
    for secret in passwords.values():
        assert secret not in second
    assert "Account admin exists" in second
    assert "Account alice exists" in second

    assert User.objects.filter(username__in=["admin", "alice"]).count() == 2
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    alice = User.objects.get(username="alice")
    assert not alice.is_staff and not alice.is_superuser

    team = Team.objects.get(slug="demo")
    assert Team.objects.count() == 1
    assert Quota.objects.filter(team=team).count() == 1
    assert (team.quota.vm_count, team.quota.memory_mib) == (5, 1024)
    assert Membership.objects.get(user=alice, team=team).role == Role.MEMBER
    assert Membership.objects.count() == 1

    host = Host.objects.get()
    assert (host.name, host.uri) == ("local", "qemu:///system")
    assert not host.is_reachable and host.last_probed_at is None, "--no-probe contacts nothing"
    docker_host = DockerHost.objects.get()
    assert (docker_host.name, docker_host.base_url) == ("local", "unix:///var/run/docker.sock")
    image = Image.objects.get()
    assert image.name == "busybox-tiny"
    assert image.kernel_path == str(tmp_path / "vmlinuz")
    assert image.initrd_path == str(tmp_path / "initramfs.cpio.gz")
    assert "Guest image files are missing" in first


def test_seed_demo_keeps_an_edited_quota_and_existing_password(no_hypervisor):
    seed()
    admin = User.objects.get(username="admin")
    admin.set_password("chosen")
    admin.save()
    Quota.objects.filter(team__slug="demo").update(vm_count=50)

    seed("--host-uri", "qemu+ssh://elsewhere/system")

    assert authenticate(login_request(), username="admin", password="chosen") is not None
    assert Quota.objects.get(team__slug="demo").vm_count == 50
    assert Host.objects.get().uri == "qemu:///system", "an existing host is kept as it is"


def test_seed_demo_with_image_files_present_gives_no_warning(no_hypervisor, settings, tmp_path):
    settings.PORTAL_GUEST_IMAGE_DIR = tmp_path
    (tmp_path / "vmlinuz").write_bytes(b"kernel")
    assert "missing" not in seed()


def test_seed_demo_probes_the_hosts_unless_told_not_to():
    keeper = libvirt.open("test:///default")
    try:
        out = StringIO()
        call_command(
            "seed_demo", "--host-uri", "test:///default", "--docker-url", "unix:///nonexistent.sock", stdout=out
        )
    finally:
        keeper.close()
    assert "Host local (test:///default): reachable, guests run as test" in out.getvalue()
    host = Host.objects.get()
    assert host.is_reachable and host.domain_type == "test"
    docker_host = DockerHost.objects.get()
    assert not docker_host.is_reachable
    assert f"Docker host local: {docker_host.last_error}" in out.getvalue()


def test_seed_demo_gives_team_networks_an_address_pool_once(no_hypervisor, settings, tmp_path):
    """VMs asked for without a network get their team's own, whose subnet comes from a pool."""
    settings.PORTAL_GUEST_IMAGE_DIR = tmp_path
    seed()
    seed()
    assert list(AddressPool.objects.values_list("name", "cidr", "subnet_prefix")) == [("demo", "10.213.0.0/16", 24)]


def test_seed_demo_keeps_the_pools_an_admin_made(no_hypervisor, settings, tmp_path):
    settings.PORTAL_GUEST_IMAGE_DIR = tmp_path
    AddressPool.objects.create(name="lab", cidr="10.50.0.0/16")
    seed()
    assert list(AddressPool.objects.values_list("name", flat=True)) == ["lab"]
