"""First-boot seeds: the user-data people give, the documents a guest reads, and the ISO they travel in."""

from __future__ import annotations

import pytest
import yaml
from django.core.exceptions import ValidationError

from hypervisors.vms.cloud_init import (
    MAX_USER_DATA_BYTES,
    network_config,
    seed_files,
    seed_iso,
    seed_label,
    seed_read,
    user_data,
    user_data_check,
)

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@laptop"


@pytest.mark.parametrize("text", ["", "   \n", "#cloud-config\n", "#cloud-config\nhostname: web\nruncmd:\n  - id\n"])
def test_good_or_empty_user_data_passes(text):
    assert user_data_check(text) == text.strip()


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("#cloud-config\nruncmd: [unclosed\n", "yaml", "not valid YAML (line"),
        ("hostname: web\n  bad: indent\n", "yaml", "not valid YAML"),
        ("#cloud-config\n- a list\n- of things\n", "not_mapping", "must be a cloud-config mapping"),
        ("just words", "not_mapping", "not a list or a scalar"),
        ("#!/bin/sh\necho a script\n", "not_mapping", "mapping"),
        ("#cloud-config\nwrite: '" + "x" * MAX_USER_DATA_BYTES + "'\n", "too_large", "at most 16384"),
    ],
)
def test_bad_user_data_is_refused_saying_why(text, code, words):
    with pytest.raises(ValidationError) as caught:
        user_data_check(text)
    assert caught.value.code == code
    assert words in caught.value.messages[0]


def test_user_data_of_exactly_16_kib_passes_and_is_counted_in_bytes():
    padding = MAX_USER_DATA_BYTES - len("a: ''")
    assert user_data_check("a: '" + "x" * padding + "'")
    with pytest.raises(ValidationError):
        user_data_check("a: '" + "é" * (padding // 2 + 1) + "'")  # two bytes each


def test_the_chosen_keys_are_merged_into_the_users_own_keys_once():
    own = "#cloud-config\nhostname: web\nssh_authorized_keys:\n  - ssh-rsa AAAAB3 mine\n  - " + KEY + "\n"
    document = user_data(keys=[KEY, "ssh-ecdsa AAAAE2 other"], text=own)
    assert document.startswith("#cloud-config\n")
    parsed = yaml.safe_load(document)
    assert parsed["hostname"] == "web"
    assert parsed["ssh_authorized_keys"] == ["ssh-rsa AAAAB3 mine", KEY, "ssh-ecdsa AAAAE2 other"]


def test_user_data_without_keys_or_text_is_an_empty_cloud_config():
    assert user_data(keys=[], text="") == "#cloud-config\n"


def test_the_seed_iso_is_labelled_cidata_and_reads_back():
    files = seed_files(instance_id="0b6f-uuid", hostname="web", keys=[KEY], text="#cloud-config\nruncmd:\n  - id\n")
    image = seed_iso(files)
    assert seed_label(image) == "cidata"
    found = seed_read(image)
    assert set(found) == {"meta-data", "user-data", "network-config"}
    assert yaml.safe_load(found["meta-data"]) == {"instance-id": "0b6f-uuid", "local-hostname": "web"}
    user = yaml.safe_load(found["user-data"])
    assert user == {"runcmd": ["id"], "ssh_authorized_keys": [KEY]}
    assert found["user-data"].startswith(b"#cloud-config\n")
    network = yaml.safe_load(found["network-config"])
    assert network == yaml.safe_load(network_config())
    assert network["version"] == 2 and network["ethernets"]["primary"]["dhcp4"] is True
