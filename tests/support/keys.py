"""SSH key pairs made on the spot with ``cryptography``, written as OpenSSH writes them (no fixed keys in the tree)."""

from __future__ import annotations

from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


@cache
def private_key(kind: str, bits: int = 2048) -> PrivateKeyTypes:
    """A new private key ("ed25519", "ecdsa" on P-256, or "rsa" of ``bits``), the same one per arguments in a run."""
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def public_line(kind: str, bits: int = 2048, comment: str = "alice@laptop") -> str:
    """The public half as one ``authorized_keys`` line, as ``ssh-keygen`` writes a .pub file."""
    blob = (
        private_key(kind, bits)
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return f"{blob} {comment}" if comment else blob


def private_text(kind: str = "ed25519") -> str:
    """The private half in OpenSSH's format: what must never be stored."""
    return (
        private_key(kind)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
        .decode()
    )
