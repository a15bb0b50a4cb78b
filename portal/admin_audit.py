"""Audit trail for what staff change in Django admin, and for login lockouts.

Requests and resources change only through services, which audit every
decision. Hosts, engines, images, teams, memberships, quotas and address pools
are edited in admin forms directly, so the admin classes of those models mix in
:class:`AuditedAdminMixin`: every save and delete, inline rows included, writes
an ``AuditEvent`` naming the staff user and the fields that changed. A role
raised through a membership is named in the detail, because it widens access.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import ModelAdmin
from django.db import models
from django.dispatch import receiver
from django.forms import BaseFormSet, ModelForm
from django.http import HttpRequest

from portal.audit import audit_record
from portal.choices import ROLE_RANK, AuditResult, Role
from portal.models import Membership, Team

#: Form fields whose values never go into an audit detail (they are write-only in their forms).
SECRET_FIELDS = frozenset({"tls_client_key", "clear_tls_client_key"})


def _team_of(obj: models.Model) -> Team | None:
    if isinstance(obj, Team):
        return obj
    team = getattr(obj, "team", None)
    return team if isinstance(team, Team) else None


def _action(obj: models.Model, verb: str) -> str:
    return f"admin.{obj._meta.model_name}.{verb}"


def _changes(form: ModelForm[Any] | None) -> str:
    """Which fields changed (never their values: some hold certificates or secrets)."""
    if form is None or not form.changed_data:
        return ""
    names = [name for name in form.changed_data if name not in SECRET_FIELDS]
    secret = [name for name in form.changed_data if name in SECRET_FIELDS]
    text = f"changed: {', '.join(names)}" if names else ""
    if secret:
        text = f"{text}; the TLS client key was replaced or removed".lstrip("; ")
    return text


def _role_detail(obj: models.Model, form: ModelForm[Any] | None) -> str:
    """For a membership, the role move, flagged when it raises access."""
    if not isinstance(obj, Membership) or form is None or "role" not in form.changed_data:
        return ""
    before = form.initial.get("role")
    after = obj.role
    if not before:
        return f"role {after} given to {obj.user}"
    if ROLE_RANK[Role(after)] > ROLE_RANK[Role(before)]:
        return f"role raised from {before} to {after} for {obj.user}"
    return f"role lowered from {before} to {after} for {obj.user}"


def admin_change_record(
    request: HttpRequest, obj: models.Model, *, verb: str, form: ModelForm[Any] | None = None
) -> None:
    """Write the audit event of one admin save or delete."""
    detail = "; ".join(part for part in (_role_detail(obj, form), _changes(form)) if part)
    audit_record(actor=request.user, action=_action(obj, verb), target=obj, team=_team_of(obj), detail=detail)


class AuditedAdminMixin(ModelAdmin[Any]):
    """Audit every save and delete made through this admin, its inlines and its bulk delete."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        admin_change_record(request, obj, verb="changed" if change else "added", form=form)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        admin_change_record(request, obj, verb="deleted")
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            admin_change_record(request, obj, verb="deleted")
        super().delete_queryset(request, queryset)

    def save_formset(self, request: HttpRequest, form: Any, formset: BaseFormSet[Any], change: bool) -> None:
        # Deleted rows are recorded first, while they still have their primary keys.
        deleted = [f.instance for f in formset.deleted_forms if getattr(f.instance, "pk", None) is not None]
        for obj in deleted:
            admin_change_record(request, obj, verb="deleted")
        new = {id(inline_form) for inline_form in formset.forms if inline_form.instance.pk is None}
        super().save_formset(request, form, formset, change)
        for inline_form in formset.forms:
            obj = inline_form.instance
            if obj in deleted or obj.pk is None or not inline_form.has_changed():
                continue
            verb = "added" if id(inline_form) in new else "changed"
            admin_change_record(request, obj, verb=verb, form=inline_form)


def _on_locked_out(sender: Any, request: HttpRequest | None, username: str, ip_address: str, **kwargs: Any) -> None:
    """A username was locked out from an address after too many failed logins."""
    audit_record(
        actor=None,
        action="login.locked_out",
        target=None,
        result=AuditResult.DENIED,
        detail=f"{username or '(no username)'} from {ip_address or '(unknown address)'}",
    )


def connect_lockout_audit() -> None:
    """Listen for django-axes lockouts; called once when the app is ready."""
    from axes.signals import user_locked_out

    receiver(user_locked_out, dispatch_uid="portal.login_locked_out")(_on_locked_out)
