"""Seed a demo: an admin, a team member, team "demo" with a quota, the local hosts, an address pool and the
tiny guest image.

Safe to run again: existing rows are kept, and passwords are printed only when
an account is created.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from containers.engines.inventory import docker_host_reconcile
from containers.engines.services import docker_host_probe
from containers.models import ContainerImage, DockerHost
from hypervisors.hosts.services import host_probe
from hypervisors.models import AddressPool, Host, Image
from portal.choices import Role
from portal.models import Membership, Quota, Team
from portal.uris import validate_libvirt_uri

#: The image scripts/build-container-image.sh builds from busybox-static.
DEMO_CONTAINER_IMAGE = "portal/busybox:latest"
#: Where the demo's team networks take their subnets from (each team's own network on a host needs one).
DEMO_ADDRESS_POOL = "10.213.0.0/16"
#: Kernel command line of the tiny guest: a serial console, and a panic reboots nothing.
GUEST_CMDLINE = "console=ttyS0 panic=-1 quiet"


class Command(BaseCommand):
    help = "Create the demo accounts, team, hosts and image (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host-uri", default="qemu:///system", help="libvirt URI of the local host.")
        parser.add_argument("--docker-url", default="unix:///var/run/docker.sock", help="URL of the local engine.")
        parser.add_argument("--no-probe", action="store_true", help="Do not contact the hosts.")

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            admin_password = self._user("admin", staff=True)
            member_password = self._user("alice", staff=False)
            team, _ = Team.objects.get_or_create(slug="demo", defaults={"name": "demo"})
            Quota.objects.get_or_create(
                team=team,
                defaults={
                    "vcpus": Decimal("4"),
                    "memory_mib": 1024,
                    "disk_gib": 20,
                    "vm_count": 5,
                    "container_count": 5,
                    "network_count": 2,
                    "snapshot_count": 5,
                },
            )
            Membership.objects.get_or_create(
                user=User.objects.get(username="alice"), team=team, defaults={"role": Role.MEMBER}
            )
            # The addresses pass the same allowlists as the admin forms; the engine on this machine is the local one.
            validate_libvirt_uri(options["host_uri"])
            host, _ = Host.objects.get_or_create(name="local", defaults={"uri": options["host_uri"]})
            docker_host, _ = DockerHost.objects.get_or_create(
                name="local", defaults={"base_url": options["docker_url"], "is_local": True}
            )
            docker_host.full_clean()
            if not AddressPool.objects.exists():
                AddressPool.objects.create(name="demo", cidr=DEMO_ADDRESS_POOL, subnet_prefix=24)
            self._image()
        if not options["no_probe"]:
            host = host_probe(host_id=host.pk)
            state = f"reachable, guests run as {host.domain_type}" if host.is_reachable else host.last_error
            self.stdout.write(f"Host {host.name} ({host.uri}): {state}")
            docker_host = docker_host_probe(docker_host_id=docker_host.pk)
            state = f"Docker {docker_host.engine_version}" if docker_host.is_reachable else docker_host.last_error
            self.stdout.write(f"Docker host {docker_host.name}: {state}")
            if docker_host.is_reachable:
                docker_host_reconcile(docker_host_id=docker_host.pk)
                offered = ContainerImage.objects.filter(docker_host=docker_host, reference=DEMO_CONTAINER_IMAGE)
                for image in offered:
                    image.offered_to.add(team)
                self.stdout.write(
                    f"Container image {DEMO_CONTAINER_IMAGE}: {'offered to demo' if offered else 'missing'}"
                )
        for username, password in (("admin", admin_password), ("alice", member_password)):
            if password:
                self.stdout.write(self.style.SUCCESS(f"Created account {username} with password: {password}"))
            else:
                self.stdout.write(f"Account {username} exists (reset with: manage.py changepassword {username})")

    def _user(self, username: str, *, staff: bool) -> str | None:
        """Create an account with a random password and return it; None when the account exists."""
        if User.objects.filter(username=username).exists():
            return None
        password = secrets.token_urlsafe(12)
        if staff:
            User.objects.create_superuser(username=username, password=password, email="")
        else:
            User.objects.create_user(username=username, password=password)
        return password

    def _image(self) -> None:
        """Register the locally built tiny guest (see scripts/build-guest-image.sh)."""
        directory = settings.PORTAL_GUEST_IMAGE_DIR
        Image.objects.update_or_create(
            name="busybox-tiny",
            defaults={
                "os_name": "Debian kernel + busybox",
                "kernel_path": str(directory / "vmlinuz"),
                "initrd_path": str(directory / "initramfs.cpio.gz"),
                "kernel_cmdline": GUEST_CMDLINE,
                # Its whole root file system lives in RAM: below about 80 MiB it boots slowly or not at all.
                "min_memory_mib": 96,
                "min_disk_gib": 1,
                "cloud_init": True,  # its init reads a NoCloud seed (hostname, SSH keys, runcmd)
                "graphical_console": True,  # its kernel's VGA text console shows in the graphical console tab
            },
        )
        if not (directory / "vmlinuz").exists():
            self.stdout.write(self.style.WARNING(f"Guest image files are missing in {directory}."))
