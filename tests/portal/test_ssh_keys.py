"""SSH public keys: what is accepted, what is refused and why, and the fingerprint OpenSSH would show."""

from __future__ import annotations

import base64
import shutil
import subprocess

import pytest
from django.core.exceptions import ValidationError

from portal.models import SshKey
from portal.ssh_keys import MIN_RSA_BITS, ssh_key_add, ssh_key_delete, ssh_key_parse
from tests.factories import UserFactory
from tests.support.keys import private_text, public_line


@pytest.mark.parametrize(
    ("kind", "bits", "key_type"),
    [("ed25519", 0, "ssh-ed25519"), ("ecdsa", 0, "ecdsa-sha2-nistp256"), ("rsa", 2048, "ssh-rsa")],
)
def test_good_public_keys_are_accepted_with_their_comment(kind, bits, key_type):
    line = public_line(kind, bits or 2048)
    parsed = ssh_key_parse(f"  {line}\n")
    assert parsed.key_type == key_type
    assert parsed.line == line
    assert parsed.comment == "alice@laptop"
    assert parsed.fingerprint.startswith("SHA256:") and "=" not in parsed.fingerprint


def test_the_fingerprint_is_the_one_ssh_keygen_shows(tmp_path):
    if shutil.which("ssh-keygen") is None:
        pytest.skip("needs ssh-keygen to compare with")
    line = public_line("ed25519")
    (tmp_path / "id.pub").write_text(line + "\n")
    shown = subprocess.run(["ssh-keygen", "-lf", str(tmp_path / "id.pub")], capture_output=True, text=True, check=True)
    assert ssh_key_parse(line).fingerprint == shown.stdout.split()[1]


def test_rsa_under_2048_bits_is_refused():
    with pytest.raises(ValidationError, match=f"1024 bits; at least {MIN_RSA_BITS}") as caught:
        ssh_key_parse(public_line("rsa", 1024))
    assert caught.value.code == "weak"


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_a_private_key_is_refused_whatever_its_format(kind):
    with pytest.raises(ValidationError, match="private key") as caught:
        ssh_key_parse(private_text(kind))
    assert caught.value.code == "private_key"


def test_a_pem_private_key_among_other_text_is_refused():
    text = public_line("ed25519") + "\n-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n"
    with pytest.raises(ValidationError, match="private key"):
        ssh_key_parse(text)


def _damaged_blob() -> str:
    key_type, encoded, _comment = public_line("ed25519").split()
    blob = base64.b64decode(encoded)
    return f"{key_type} {base64.b64encode(blob[:-5]).decode()}"


def _other_type_blob() -> str:
    _type, encoded, _comment = public_line("ed25519").split()
    return f"ssh-rsa {encoded}"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "lines"),
        ("hello world", "type"),
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "type"),
        ("ssh-ed25519", "type"),
        ("ssh-ed25519 not*base64", "base64"),
        ("ssh-ed25519 AAAA", "mismatch"),
        (_damaged_blob(), "invalid"),
        (_other_type_blob(), "mismatch"),
        (public_line("ed25519") + "\n" + public_line("ecdsa"), "lines"),
        (public_line("ed25519", comment="bad\x07bell"), "comment"),
        ("ssh-ed25519 " + "A" * 9000, "too_long"),
    ],
)
def test_garbage_is_refused_with_a_reason(text, code):
    with pytest.raises(ValidationError) as caught:
        ssh_key_parse(text)
    assert caught.value.code == code
    assert caught.value.messages[0].strip()


@pytest.mark.django_db
def test_a_key_is_kept_once_per_user_and_named_after_its_comment():
    alice = UserFactory(username="alice")
    key = ssh_key_add(actor=alice, name="", public_key=public_line("ed25519"))
    assert key.name == "alice@laptop" and key.key_type == "ssh-ed25519"
    with pytest.raises(ValidationError, match="already"):
        ssh_key_add(actor=alice, name="again", public_key=public_line("ed25519", comment="other"))
    # Another user may keep the same public key.
    ssh_key_add(actor=UserFactory(username="bob"), name="shared", public_key=public_line("ed25519"))
    assert SshKey.objects.count() == 2


@pytest.mark.django_db
def test_nothing_is_stored_when_a_private_key_is_given():
    with pytest.raises(ValidationError):
        ssh_key_add(actor=UserFactory(), name="oops", public_key=private_text())
    assert not SshKey.objects.exists()


@pytest.mark.django_db
def test_only_the_owner_deletes_a_key():
    from django.http import Http404

    key = ssh_key_add(actor=UserFactory(username="alice"), name="laptop", public_key=public_line("ecdsa"))
    with pytest.raises(Http404):
        ssh_key_delete(actor=UserFactory(username="mallory"), key_id=key.pk)
    assert SshKey.objects.filter(pk=key.pk).exists()
    ssh_key_delete(actor=key.user, key_id=key.pk)
    assert not SshKey.objects.filter(pk=key.pk).exists()
