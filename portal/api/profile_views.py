"""The profile page: the user's API tokens, made (secret shown once) and revoked with htmx, their SSH keys,
and which notifications also come by e-mail (that section posts to ``portal.notifications.views``).

Token creation lives only here, behind a browser session with CSRF: a token cannot
make another token, so a restricted or read-only token never widens itself.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.views import View

from portal.api.forms import TokenForm
from portal.api.tokens import token_create, token_revoke, tokens_of
from portal.htmx import is_htmx, page_or_fragment
from portal.notifications.views import email_section
from portal.ssh_key_views import ssh_keys_context

PAGE = "portal_api/profile.html"
FRAGMENT = "portal_api/_tokens.html"


def _render(request: HttpRequest, form: TokenForm, status: int = 200, **extra: Any) -> HttpResponse:
    context = {"form": form, "tokens": tokens_of(request.user), **ssh_keys_context(request), **extra}
    if not is_htmx(request):  # the full page also shows the e-mail section; the tokens' fragment does not
        context.update(email_section(request))
    return page_or_fragment(request, page=PAGE, fragment=FRAGMENT, context=context, status=status)


class ProfileView(LoginRequiredMixin, View):
    """Who you are, and your API tokens."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return _render(request, TokenForm(user=request.user))


class TokenCreateView(LoginRequiredMixin, View):
    """Make a token; the answer shows its secret this once."""

    def post(self, request: HttpRequest) -> HttpResponse:
        form = TokenForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                token, secret = token_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return _render(request, TokenForm(user=request.user), new_token=token, secret=secret)
        return _render(request, form, status=400)


class TokenRevokeView(LoginRequiredMixin, View):
    """Revoke a token at once (POST only)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        token = token_revoke(actor=request.user, token_id=pk)
        return _render(request, TokenForm(user=request.user), revoked=token)
