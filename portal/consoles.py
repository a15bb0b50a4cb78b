"""Console tickets and the record of console sessions, for every kind of resource.

A browser console is a websocket that carries keystrokes into a machine. The session
cookie alone is not enough to open one: a page of another site can make a browser send
the cookie. So the page first asks for a ticket (a POST that CSRF protects), and the
websocket must bring it back within seconds, once, for the same user, resource and kind.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from portal.audit import audit_record
from portal.choices import AuditResult, ConsoleEnd, ConsoleKind, Role
from portal.models import ConsoleTicket, Team
from portal.permissions import has_role, require_role

AnyUser = User | AnonymousUser

#: The least role that may open a console: members and team admins, never viewers.
CONSOLE_ROLE = Role.MEMBER


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def console_allowed(user: AnyUser, team: Team | int) -> bool:
    """Whether the user may open a console on the team's resources (members and team admins)."""
    return has_role(user, team, CONSOLE_ROLE)


@transaction.atomic
def console_ticket_issue(
    *, actor: AnyUser, target: models.Model, team: Team, kind: str, take_over: bool = False
) -> str:
    """A fresh ticket for ``actor`` to open the ``kind`` console of ``target``; only its digest is stored.

    Raises ``PermissionDenied`` unless the actor may open consoles in the team.
    """
    require_role(actor, team, CONSOLE_ROLE)
    assert isinstance(actor, User)  # an anonymous user holds no role
    raw = secrets.token_urlsafe(32)
    ConsoleTicket.objects.create(
        user=actor,
        target_type=ContentType.objects.get_for_model(target),
        target_id=str(target.pk),
        kind=ConsoleKind(kind),
        digest=_digest(raw),
        take_over=take_over,
        expires_at=timezone.now() + timedelta(seconds=settings.PORTAL_CONSOLE_TICKET_SECONDS),
    )
    # Old tickets are worth nothing; dropping them here keeps the table small without a periodic task.
    ConsoleTicket.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1)).delete()
    return raw


def console_ticket_redeem(*, raw: str, user: AnyUser, target: models.Model, kind: str) -> ConsoleTicket | None:
    """Use a ticket: the ticket row when it is unused, unexpired and bound to this user, resource and kind.

    One conditional UPDATE marks it used, so two websockets racing with the same ticket
    cannot both win. Any mismatch returns None and leaves the ticket as it was.
    """
    if not raw or not user.is_authenticated:
        return None
    now = timezone.now()
    matching = ConsoleTicket.objects.filter(
        digest=_digest(raw),
        user_id=user.pk,
        target_type=ContentType.objects.get_for_model(target),
        target_id=str(target.pk),
        kind=kind,
        used_at__isnull=True,
        expires_at__gt=now,
    )
    if matching.update(used_at=now) != 1:
        return None
    return ConsoleTicket.objects.get(digest=_digest(raw))


def console_taken_over(ticket: ConsoleTicket) -> bool:
    """Whether another session took the same console over after this ticket's session began."""
    assert ticket.used_at is not None
    return (
        ConsoleTicket.objects.filter(
            target_type_id=ticket.target_type_id,
            target_id=ticket.target_id,
            kind=ticket.kind,
            take_over=True,
            used_at__gt=ticket.used_at,
        )
        .exclude(pk=ticket.pk)
        .exists()
    )


@dataclass
class ConsoleSession:
    """What the audit keeps of a console session: who, where, when and how many bytes; never what was typed."""

    user: AnyUser
    target: models.Model
    team: Team | None
    kind: str
    client: str
    started_at: datetime
    bytes_in: int = 0
    bytes_out: int = 0


def console_session_record(*, session: ConsoleSession, end: str) -> None:
    """Write one audit event for a finished console session."""
    ended_at = timezone.now()
    detail = (
        f"client={session.client or '-'} start={session.started_at.isoformat()} end={ended_at.isoformat()} "
        f"bytes_in={session.bytes_in} bytes_out={session.bytes_out} reason={ConsoleEnd(end).value}"
    )
    audit_record(
        actor=session.user,
        action=f"console.{ConsoleKind(session.kind).value}",
        target=session.target,
        team=session.team,
        detail=detail,
    )


def console_refusal_record(*, user: AnyUser, target: models.Model, team: Team | None, kind: str, client: str) -> None:
    """Audit a websocket refused for a resource the user can see (a bad ticket, a role too low)."""
    audit_record(
        actor=user,
        action=f"console.{ConsoleKind(kind).value}",
        target=target,
        team=team,
        result=AuditResult.DENIED,
        detail=f"client={client or '-'}",
    )
