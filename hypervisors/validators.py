"""Checks on what staff type into an image: its files must be guest images, its command line plain text.

The kernel and initrd paths are read by libvirt on the host and loaded into the
guest, so a path like ``/etc/shadow`` would hand a host file to whoever runs the
VM. Paths are resolved (symbolic links and ``..`` included) and must stay inside
``PORTAL_GUEST_IMAGE_DIR``; the same directory layout is expected on every host.
"""

from __future__ import annotations

import os
import re

from django.conf import settings
from django.core.exceptions import ValidationError

#: Longest kernel command line accepted; the x86 boot protocol allows 2048 bytes, guests need far less.
MAX_KERNEL_CMDLINE = 255
#: Printable ASCII and spaces only: no newline, tab or other control character reaches the boot loader.
KERNEL_CMDLINE = re.compile(r"\A[\x20-\x7e]*\Z")


def validate_guest_image_path(value: str) -> None:
    """Refuse a path that does not resolve to a file inside the guest image directory."""
    if not value:
        return
    if not os.path.isabs(value):
        raise ValidationError("Give an absolute path inside the guest image directory.")
    root = os.path.realpath(settings.PORTAL_GUEST_IMAGE_DIR)
    resolved = os.path.realpath(value)
    if os.path.commonpath([root, resolved]) != root or resolved == root:
        raise ValidationError(f"Guest kernels and initrds must be inside {root}; {value} is not.")


def validate_kernel_cmdline(value: str) -> None:
    """Refuse control characters and overlong command lines."""
    if len(value) > MAX_KERNEL_CMDLINE:
        raise ValidationError(f"A kernel command line has at most {MAX_KERNEL_CMDLINE} characters.")
    if not KERNEL_CMDLINE.match(value):
        raise ValidationError("A kernel command line is printable text on one line, without control characters.")
