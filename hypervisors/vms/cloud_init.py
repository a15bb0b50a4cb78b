"""First-boot configuration of a VM for cloud-init's NoCloud source: checking what people give, writing the seed.

A seed is an ISO 9660 volume labelled ``cidata`` with three files: ``meta-data``
(instance id, hostname), ``user-data`` (``#cloud-config``: the person's own
user-data with the SSH keys they picked merged into ``ssh_authorized_keys``) and
``network-config`` (DHCP on the first network card). Pure functions: the worker
uploads the bytes to the host through the driver; nothing here reaches a host.
"""

from __future__ import annotations

import io
from typing import Any

import pycdlib
import yaml
from django.core.exceptions import ValidationError

#: The largest user-data accepted (its UTF-8 bytes).
MAX_USER_DATA_BYTES = 16 * 1024
#: The volume label cloud-init's NoCloud source looks for.
SEED_LABEL = "cidata"
#: The first line of cloud-config user-data.
CLOUD_CONFIG_HEADER = "#cloud-config"


def user_data_check(text: str) -> str:
    """Refuse user-data that is not a cloud-config YAML mapping of at most 16 KiB; return it normalised (LF).

    Empty text is no user-data. ``ValidationError`` messages are fit for the form field.
    """
    text = text.replace("\r\n", "\n").strip()
    if not text:
        return ""
    size = len(text.encode())
    if size > MAX_USER_DATA_BYTES:
        raise ValidationError(
            f"User-data is {size} bytes; at most {MAX_USER_DATA_BYTES} (16 KiB) are accepted.", code="too_large"
        )
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ValidationError(f"User-data is not valid YAML{where}.", code="yaml") from None
    if document is not None and not isinstance(document, dict):  # None: only comments, an empty cloud-config
        raise ValidationError(
            "User-data must be a cloud-config mapping (keys such as hostname:, runcmd:), not a list or a scalar.",
            code="not_mapping",
        )
    return text


def meta_data(*, instance_id: str, hostname: str) -> str:
    """The ``meta-data`` document: a new instance id makes cloud-init run its first-boot modules."""
    return yaml.safe_dump({"instance-id": instance_id, "local-hostname": hostname}, sort_keys=False)


def user_data(*, keys: list[str], text: str) -> str:
    """The ``user-data`` document: the person's cloud-config with the chosen keys added to ``ssh_authorized_keys``.

    Keys the user-data lists itself stay, first; a key listed twice is given once.
    """
    document: dict[str, Any] = yaml.safe_load(text) if text else {}
    if not isinstance(document, dict):  # checked when asked; a stored request is trusted no further
        document = {}
    listed = document.get("ssh_authorized_keys")
    merged = [str(key) for key in listed] if isinstance(listed, list) else []
    merged += [key for key in keys if key not in merged]
    if merged:
        document["ssh_authorized_keys"] = merged
    body = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=4096) if document else ""
    return f"{CLOUD_CONFIG_HEADER}\n{body}"


def network_config() -> str:
    """The ``network-config`` document (version 2): DHCP on the first Ethernet card, whatever its name."""
    return yaml.safe_dump(
        {
            "version": 2,
            "ethernets": {"primary": {"match": {"name": "e*"}, "dhcp4": True}},
        },
        sort_keys=False,
    )


def seed_files(*, instance_id: str, hostname: str, keys: list[str], text: str) -> dict[str, bytes]:
    """The three files of a NoCloud seed, by name."""
    return {
        "meta-data": meta_data(instance_id=instance_id, hostname=hostname).encode(),
        "user-data": user_data(keys=keys, text=text).encode(),
        "network-config": network_config().encode(),
    }


def seed_iso(files: dict[str, bytes]) -> bytes:
    """An ISO 9660 image labelled ``cidata`` holding ``files``, with Joliet and Rock Ridge names.

    Rock Ridge keeps the names as written (``meta-data``, lower case with a hyphen),
    which is what Linux shows when it mounts the volume; ISO 9660's own level-1
    names are only a fallback.
    """
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident=SEED_LABEL, sys_ident="LINUX")
    for index, (name, data) in enumerate(sorted(files.items())):
        short = f"/F{index}.;1"
        iso.add_fp(io.BytesIO(data), len(data), short, rr_name=name, joliet_path=f"/{name}")
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()


def seed_read(image: bytes) -> dict[str, bytes]:
    """The files of a seed image by their Rock Ridge names (tests and diagnostics read a seed back with this)."""
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(image))
    try:
        found: dict[str, bytes] = {}
        for _path, _dirs, names in iso.walk(rr_path="/"):
            for name in names:
                out = io.BytesIO()
                iso.get_file_from_iso_fp(out, rr_path=f"/{name}")
                found[name] = out.getvalue()
        return found
    finally:
        iso.close()


def seed_label(image: bytes) -> str:
    """The volume label of an ISO image."""
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(image))
    try:
        return iso.pvd.volume_identifier.decode().strip()
    finally:
        iso.close()
