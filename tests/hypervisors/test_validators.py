"""Image paths stay inside the guest image directory; kernel command lines are plain one-line text."""

from __future__ import annotations

import os

import pytest
from django.core.exceptions import ValidationError

from hypervisors.models import Image
from hypervisors.validators import validate_guest_image_path, validate_kernel_cmdline


@pytest.fixture
def guest_dir(settings, tmp_path):
    directory = tmp_path / "portal-guest"
    directory.mkdir()
    (directory / "vmlinuz").write_bytes(b"kernel")
    settings.PORTAL_GUEST_IMAGE_DIR = directory
    return directory


def test_a_file_inside_the_directory_passes(guest_dir):
    validate_guest_image_path(str(guest_dir / "vmlinuz"))
    validate_guest_image_path(str(guest_dir / "sub" / "initrd.img"))


@pytest.mark.parametrize("path", ["/etc/shadow", "/root/.ssh/id_rsa", "vmlinuz", "/"])
def test_a_path_outside_the_directory_is_refused(guest_dir, path):
    with pytest.raises(ValidationError):
        validate_guest_image_path(path)


def test_dot_dot_is_resolved_before_the_check(guest_dir):
    with pytest.raises(ValidationError, match="must be inside"):
        validate_guest_image_path(f"{guest_dir}/../../../etc/shadow")


def test_a_symbolic_link_leading_out_is_refused(guest_dir):
    os.symlink("/etc/shadow", guest_dir / "innocent")
    with pytest.raises(ValidationError, match="must be inside"):
        validate_guest_image_path(str(guest_dir / "innocent"))


def test_a_sibling_directory_sharing_the_prefix_is_refused(guest_dir):
    sibling = f"{guest_dir}-evil/vmlinuz"
    with pytest.raises(ValidationError, match="must be inside"):
        validate_guest_image_path(sibling)


@pytest.mark.parametrize("cmdline", ["console=ttyS0 panic=-1 quiet", ""])
def test_a_plain_command_line_passes(cmdline):
    validate_kernel_cmdline(cmdline)


@pytest.mark.parametrize("cmdline", ["console=ttyS0\ninit=/bin/sh", "quiet\x00", "a\tb", "x" * 256, "é"])
def test_control_characters_and_overlong_lines_are_refused(cmdline):
    with pytest.raises(ValidationError):
        validate_kernel_cmdline(cmdline)


@pytest.mark.django_db
def test_the_image_model_checks_its_paths(guest_dir):
    image = Image(name="leak", os_name="x", kernel_path="/etc/shadow", initrd_path="/etc/passwd", kernel_cmdline="a\nb")
    with pytest.raises(ValidationError) as refused:
        image.full_clean()
    assert set(refused.value.message_dict) >= {"kernel_path", "initrd_path", "kernel_cmdline"}


@pytest.mark.django_db
def test_admin_refuses_an_image_reading_a_host_file(admin_client, guest_dir):
    response = admin_client.post(
        "/admin/hypervisors/image/add/",
        {
            "name": "leak", "os_name": "x", "boot_source": "kernel", "kernel_path": "/etc/shadow", "initrd_path": "",
            "kernel_cmdline": "console=ttyS0", "min_memory_mib": 64, "min_disk_gib": 1, "is_active": "on",
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert "must be inside" in response.content.decode()
    assert not Image.objects.filter(name="leak").exists()
