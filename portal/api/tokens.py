"""Personal API tokens: made and revoked by their owner, found by the prefix of the secret, every use recorded.

The secret is shown once, when the token is made; only its SHA-256 is kept. Making
a token, using it from an address it was not used from before, and revoking it are
audit events, so a leaked token shows up in the trail.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from portal.api.models import ApiToken
from portal.audit import audit_record
from portal.models import Team
from portal.selectors import teams_for

AnyUser = User | AnonymousUser

#: What every secret starts with, so a leaked one is recognisable (and greppable by secret scanners).
SECRET_PREFIX = "vpt_"  # noqa: S105 - a public marker, not a secret
#: Recording every use would be a write per call; the time of use is refreshed at most this often.
LAST_USED_PRECISION = timedelta(minutes=1)


def secret_hash(secret: str) -> str:
    """The stored form of a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def tokens_of(user: AnyUser) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first, with the teams they are restricted to."""
    if not user.is_authenticated:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user_id=user.pk).prefetch_related("teams")


@transaction.atomic
def token_create(
    *,
    actor: AnyUser,
    name: str,
    read_only: bool = False,
    expires_at: datetime | None = None,
    teams: Iterable[Team] = (),
) -> tuple[ApiToken, str]:
    """Make a token for ``actor``; returns it and its secret, which is never available again.

    A token may be restricted only to teams the user belongs to. Raises ``ValidationError``.
    """
    if not actor.is_authenticated:
        raise PermissionDenied("Log in to make a token.")
    assert isinstance(actor, User)
    if not name.strip():
        raise ValidationError({"name": "Give the token a name, to know later what uses it."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    chosen = list(teams)
    own = set(teams_for(actor).values_list("pk", flat=True))
    if any(team.pk not in own for team in chosen):
        raise ValidationError({"teams": "A token can be restricted only to your own teams."})
    prefix = secrets.token_hex(6)
    secret = f"{SECRET_PREFIX}{prefix}.{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=actor, name=name.strip(), prefix=prefix, secret_hash=secret_hash(secret), read_only=read_only,
        expires_at=expires_at,
    )  # fmt: skip
    token.teams.set(chosen)
    detail = "read only" if read_only else "read and write"
    if chosen:
        detail += "; teams " + ", ".join(sorted(team.slug for team in chosen))
    audit_record(actor=actor, action="token.create", target=token, detail=detail)
    return token, secret


@transaction.atomic
def token_revoke(*, actor: AnyUser, token_id: int) -> ApiToken:
    """Revoke one of the actor's tokens at once; revoking twice is harmless. Others' tokens are 404."""
    token = get_object_or_404(tokens_of(actor).select_for_update(of=("self",)), pk=token_id)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="token.revoke", target=token)
    return token


def token_authenticate(*, secret: str, address: str | None) -> ApiToken | None:
    """The usable token this secret belongs to, or None; records its use and audits a new address."""
    body = secret.removeprefix(SECRET_PREFIX)
    prefix, dot, _ = body.partition(".")
    if not secret.startswith(SECRET_PREFIX) or not dot or not prefix:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.secret_hash, secret_hash(secret)):
        return None
    if not token.is_usable or not token.user.is_active:
        return None
    _token_use(token, address)
    return token


def _token_use(token: ApiToken, address: str | None) -> None:
    now = timezone.now()
    new_address = address is not None and address != token.last_used_address
    if not new_address and token.last_used_at and now - token.last_used_at < LAST_USED_PRECISION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_address=address)
    if new_address:
        audit_record(actor=token.user, action="token.new_address", target=token, detail=f"used from {address}")
    token.last_used_at, token.last_used_address = now, address


@transaction.atomic
def token_revoke_by_admin(*, actor: AnyUser, token_id: int) -> ApiToken:
    """An administrator revokes someone's token (a leaked secret, a person who left). Needs ``change_apitoken``."""
    if not (actor.is_authenticated and actor.has_perm("portal_api.change_apitoken")):
        raise PermissionDenied("Only administrators who may change API tokens may revoke other people's.")
    token = ApiToken.objects.select_for_update(of=("self",)).get(pk=token_id)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="token.revoke", target=token, detail=f"of {token.user}")
    return token
