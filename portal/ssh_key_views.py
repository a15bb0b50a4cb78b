"""The SSH keys part of the profile page: add and delete with htmx, each a POST with CSRF, own keys only."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View

from portal.forms import SshKeyForm
from portal.htmx import is_htmx
from portal.ssh_keys import ssh_key_add, ssh_key_delete, ssh_keys_of

FRAGMENT = "portal/_ssh_keys.html"


def ssh_keys_context(request: HttpRequest, form: SshKeyForm | None = None) -> dict[str, Any]:
    """What the keys fragment shows; the profile page includes it with the same context."""
    return {"ssh_key_form": form or SshKeyForm(), "ssh_keys": ssh_keys_of(request.user)}


def _answer(request: HttpRequest, form: SshKeyForm | None = None, refused: bool = False, **extra: Any) -> HttpResponse:
    """The fragment for htmx (200 even when refused: htmx swaps only successful answers, and the errors must show);
    without htmx, back to the profile, or the fragment with 400 when refused."""
    if not is_htmx(request) and not refused:
        return redirect("profile")
    status = 400 if refused and not is_htmx(request) else 200
    return render(request, FRAGMENT, {**ssh_keys_context(request, form), **extra}, status=status)


class SshKeyCreateView(LoginRequiredMixin, View):
    """Keep a public key; a bad or private key is an error under the field, nothing stored."""

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SshKeyForm(request.POST)
        if form.is_valid():
            try:
                key = ssh_key_add(actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            except ValidationError as error:
                form.add_error("public_key", error)
            else:
                return _answer(request, added=key)
        return _answer(request, form, refused=True)


class SshKeyDeleteView(LoginRequiredMixin, View):
    """Delete one of your keys (another's is a 404). VM requests made with it keep their copy."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        key = ssh_key_delete(actor=request.user, key_id=pk)
        return _answer(request, deleted=key)
