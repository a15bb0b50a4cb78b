"""How API callers prove who they are, what a token may do, and how often anyone may call.

``Authorization: Bearer <secret>`` authenticates with a personal token; a browser
session works too (DRF's session authentication enforces CSRF on writes). A
read-only token is refused on every write. Calls are throttled per token and per
user in the shared cache, so every web process counts the same calls.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from portal.api.models import ApiToken
from portal.api.scoping import request_token
from portal.api.tokens import token_authenticate


class BearerTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer vpt_…``: a personal token, usable until it expires or is revoked."""

    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the header as: Authorization: Bearer <token>.")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed("The token is not valid.") from error
        token = token_authenticate(secret=secret, address=request.META.get("REMOTE_ADDR"))
        if token is None:
            raise exceptions.AuthenticationFailed("The token is not valid, has expired or was revoked.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes an unauthenticated call a 401 with a challenge, rather than a 403.
        return 'Bearer realm="api"'


class TokenAllows(BasePermission):
    """A read-only token may read, nothing else."""

    message = "This token is read-only."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request_token(request)
        return token is None or not token.read_only or request.method in SAFE_METHODS


class SharedCacheMixin:
    """Throttle counts live in the cache every web process shares (Redis), not in one process's memory."""

    cache: BaseCache

    def __init__(self) -> None:
        self.cache = caches[settings.PORTAL_API_THROTTLE_CACHE]
        super().__init__()


class PerTokenThrottle(SharedCacheMixin, SimpleRateThrottle):
    """Calls per token: one runaway script does not use up its owner's whole allowance."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request_token(request)
        return None if token is None else self.cache_format % {"scope": self.scope, "ident": token.pk}


class PerUserThrottle(SharedCacheMixin, UserRateThrottle):
    """Calls per user, whatever token or session they come through."""

    scope = "user"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Tells the OpenAPI schema how to send a token."""

    target_class = BearerTokenAuthentication
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A personal API token, made on /profile/."}
