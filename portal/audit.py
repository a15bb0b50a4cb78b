"""The audit trail: services record every decision and every action here."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.db import models

from portal.choices import AuditResult
from portal.models import AuditEvent, Team


def audit_record(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    target: models.Model | None,
    team: Team | None = None,
    result: str = AuditResult.SUCCESS,
    detail: str = "",
    actor_label: str = "",
) -> AuditEvent:
    """Write one audit event. ``actor`` None means the system (a worker, the reconciler), or what
    ``actor_label`` names when something acted for the system ("policy small-vms")."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label,
        action=action,
        team=team,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        result=result,
        detail=detail,
    )
