"""Secrets at rest: TLS client keys of remote engines are stored encrypted and never rendered.

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
