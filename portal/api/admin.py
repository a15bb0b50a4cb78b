"""Django admin for API tokens: administrators see who holds which token and revoke one; nobody reads a secret.

Tokens are made only on their owner's profile page (the secret is shown once,
there); admin cannot create or edit them, and revoking goes through the same
kind of service as everything else, so it is audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from portal.api.models import ApiToken
from portal.api.tokens import token_revoke_by_admin


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = (
        "name",
        "user",
        "prefix",
        "read_only",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "last_used_address",
    )
    list_filter = ("read_only", "revoked_at")
    search_fields = ("name", "user__username", "prefix")
    list_select_related = ("user",)
    readonly_fields = [f.name for f in ApiToken._meta.get_fields() if f.concrete and f.name != "secret_hash"] + [
        "teams"
    ]
    exclude = ("secret_hash",)
    actions = ("revoke_selected",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a revoked token stays, with its history
        return actions

    @admin.action(description="Revoke selected tokens now", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            token_revoke_by_admin(actor=request.user, token_id=token.pk)
        messages.success(request, f"Revoked {queryset.count()} token(s).")
