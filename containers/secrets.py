"""Secrets at rest: TLS client keys of remote engines and container environment values are stored
encrypted and never rendered.

The key comes from ``PORTAL_SECRETS_KEY`` (a Fernet key) or, when unset, is
derived from ``SECRET_KEY``; rotating it means entering the secrets again.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    key = (
        settings.PORTAL_SECRETS_KEY
        or base64.urlsafe_b64encode(hashlib.sha256(f"portal-secrets:{settings.SECRET_KEY}".encode()).digest()).decode()
    )
    return Fernet(key)


def secret_seal(plaintext: str) -> str:
    """Encrypt a secret for storage; an empty secret stays empty."""
    return _fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def secret_open(sealed: str) -> str:
    """Decrypt a stored secret; raises ``ValueError`` if it was sealed with another key."""
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken as error:
        raise ValueError("A stored secret cannot be read with the current key; enter it again.") from error


#: Marks a sealed environment value; a value without it was stored before values were sealed.
SEALED_PREFIX = "sealed:"


def environment_seal(environment: dict[str, str]) -> dict[str, str]:
    """Seal every value of a container environment (names stay readable: pages list them)."""
    return {name: SEALED_PREFIX + secret_seal(value) for name, value in environment.items()}


def environment_seal_plain(environment: dict[str, str]) -> dict[str, str]:
    """Seal the values not sealed yet; sealed ones are kept as they are (safe to run twice)."""
    return {
        name: value if value.startswith(SEALED_PREFIX) else SEALED_PREFIX + secret_seal(value)
        for name, value in environment.items()
    }


def environment_open(environment: dict[str, str]) -> dict[str, str]:
    """The values a container is created with; raises ``ValueError`` if they were sealed with another key."""
    return {
        name: secret_open(value.removeprefix(SEALED_PREFIX)) if value.startswith(SEALED_PREFIX) else value
        for name, value in environment.items()
    }
