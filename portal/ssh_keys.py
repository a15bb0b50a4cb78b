"""SSH public keys on a user's profile: parsed and checked, listed, added and deleted by their owner only.

A key is read the way OpenSSH writes it (``<type> <base64 blob> [comment]``), its blob
loaded by ``cryptography`` so a truncated or forged key is refused, and weak keys (RSA
under 2048 bits) too. A private key pasted by mistake is refused before anything else
looks at it: it is never stored, logged or sent back into the form.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from portal.audit import audit_record
from portal.models import SshKey

AnyUser = User | AnonymousUser

#: Key types a VM may be given; DSA and the like are refused.
KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)
#: The smallest RSA modulus accepted.
MIN_RSA_BITS = 2048
#: Longer than any public key line (RSA 16384 bits is about 2.8 KB); longer text is not a key.
MAX_KEY_TEXT = 8192
#: What a comment may hold: printable text, no control characters (it ends up in authorized_keys).
COMMENT = re.compile(r"\A[\x20-\x7e]{0,200}\Z")

PRIVATE_KEY_MESSAGE = (
    "This is a private key: it was not stored. Paste the public key instead "
    "(the .pub file, one line starting with ssh-ed25519, ecdsa-sha2-… or ssh-rsa)."
)


@dataclass(frozen=True)
class ParsedKey:
    """A public key that passed every check, in the one-line form stored and given to VMs."""

    key_type: str
    line: str
    comment: str
    fingerprint: str


def looks_private(text: str) -> bool:
    """Whether the text holds any private key block (PEM, OpenSSH, PuTTY)."""
    upper = text.upper()
    return "PRIVATE KEY" in upper or "PUTTY-USER-KEY-FILE" in upper


def fingerprint_of(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a key blob (``ssh-keygen -l``)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _blob_type(blob: bytes) -> str:
    """The type name at the start of a key blob (an SSH string: 4-byte length, then the name)."""
    if len(blob) < 4:
        return ""
    (length,) = struct.unpack(">I", blob[:4])
    return blob[4 : 4 + length].decode("ascii", "replace") if length <= 64 else ""


def ssh_key_parse(text: str) -> ParsedKey:
    """Check one public key line and return it in stored form; ``ValidationError`` says what is wrong."""
    if looks_private(text):
        raise ValidationError(PRIVATE_KEY_MESSAGE, code="private_key")
    if len(text) > MAX_KEY_TEXT:
        raise ValidationError("That is too long to be a public key.", code="too_long")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) != 1:
        raise ValidationError("Paste exactly one public key, on one line.", code="lines")
    parts = lines[0].split(None, 2)
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise ValidationError(
            f"Not an OpenSSH public key of a type accepted here ({', '.join(KEY_TYPES)}).", code="type"
        )
    key_type, encoded = parts[0], parts[1]
    comment = parts[2].strip() if len(parts) > 2 else ""
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("The key's base64 part is damaged.", code="base64") from None
    if _blob_type(blob) != key_type:
        raise ValidationError(f"The key's data is not a {key_type} key.", code="mismatch")
    try:
        key = load_ssh_public_key(f"{key_type} {encoded}".encode())
    except (ValueError, TypeError, struct.error):
        raise ValidationError("The key's data is damaged or incomplete.", code="invalid") from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise ValidationError(f"This RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} are needed.", code="weak")
    if not COMMENT.match(comment):
        raise ValidationError("The key's comment may hold only printable characters.", code="comment")
    line = f"{key_type} {encoded}" + (f" {comment}" if comment else "")
    return ParsedKey(key_type=key_type, line=line, comment=comment, fingerprint=fingerprint_of(blob))


def ssh_keys_of(user: AnyUser) -> QuerySet[SshKey]:
    """The user's own keys, by name; nobody sees another's."""
    if not user.is_authenticated:
        return SshKey.objects.none()
    return SshKey.objects.filter(user_id=user.pk)


@transaction.atomic
def ssh_key_add(*, actor: User, name: str, public_key: str) -> SshKey:
    """Keep a public key for the actor. Raises ``ValidationError`` (bad key, one kept already)."""
    parsed = ssh_key_parse(public_key)
    label = name.strip() or parsed.comment[:100] or parsed.key_type
    try:
        with transaction.atomic():
            key = SshKey.objects.create(
                user=actor, name=label, key_type=parsed.key_type, public_key=parsed.line, fingerprint=parsed.fingerprint
            )
    except IntegrityError:
        raise ValidationError("You have this key already.", code="duplicate") from None
    audit_record(actor=actor, action="ssh_key.add", target=key, detail=f"fingerprint={key.fingerprint}")
    return key


@transaction.atomic
def ssh_key_delete(*, actor: AnyUser, key_id: int) -> SshKey:
    """Delete one of the actor's keys; another user's key is a 404. Requests that copied it keep their copy."""
    key = get_object_or_404(ssh_keys_of(actor).select_for_update(), pk=key_id)
    audit_record(actor=actor, action="ssh_key.delete", target=key, detail=f"fingerprint={key.fingerprint}")
    key.delete()
    return key
