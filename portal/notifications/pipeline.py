"""Who is told what as a request moves: called by ``portal.services`` inside the move's own transaction.

- a new ask: every portal administrator (:func:`portal.permissions.deciders`), with a link to
  the request in Django admin, where they decide it;
- approved or rejected: the person who asked (the reason included);
- built or failed: the person who asked, with a link to the resource's page (or to their
  requests, where the failure reason shows, when the failed build left no resource).

Nobody is told of their own action: an administrator who asks, or decides their own ask, knows.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.urls import reverse

from portal.models import ResourceRequest
from portal.notifications.categories import NotificationCategory
from portal.notifications.services import notify
from portal.permissions import deciders

AnyUser = User | AnonymousUser


def _what(request: ResourceRequest) -> str:
    """How the request names its resource: "virtual machine web"."""
    return f"{request.kind_label.lower()} {request.name}"


def request_page(request: ResourceRequest) -> str:
    """The request's row among the asker's own requests (the page shows the decision and failure reasons)."""
    return f"{reverse('request-list')}?mine=1#request-{request.pk}"


def admin_page(request: ResourceRequest) -> str:
    """The request's page in Django admin, where it is approved or rejected."""
    return reverse("admin:portal_resourcerequest_change", args=[request.pk])


def tell_ask_submitted(request: ResourceRequest, *, actor: User) -> None:
    """A new ask waits for a decision: tell the portal administrators."""
    sizes = f" ({request.sizes_text})" if request.sizes_text else ""
    body = (
        f"{actor.get_username()} asks for the {_what(request)}{sizes} in team {request.team.name}.\n\n"
        f"Justification: {request.justification}"
    )
    notify(
        users=deciders().exclude(pk=actor.pk),
        category=NotificationCategory.REQUEST_PENDING,
        subject=f"New request waiting for a decision: {_what(request)} for team {request.team.name}",
        body=body,
        url=admin_page(request),
    )


def tell_ask_decided(request: ResourceRequest, *, actor: AnyUser | None, approved: bool) -> None:
    """An ask was approved or rejected (``actor`` None: by a policy): tell the person who asked, with the reason."""
    if actor is not None and request.requested_by_id == actor.pk:
        return
    verdict = "approved" if approved else "rejected"
    if actor is None:
        who = f" by policy {request.approval_policy.name}" if request.approval_policy is not None else ""
    else:
        who = f" by {actor.get_username()}" if actor.is_authenticated else ""
    body = f"Your request for the {_what(request)} in team {request.team.name} was {verdict}{who}."
    if approved:
        body += " It is being built; you will be told when it is ready."
    if request.decision_reason:
        body += f"\n\nReason: {request.decision_reason}"
    url = (request.resource_url if approved else "") or request_page(request)
    notify(
        users=[request.requested_by],
        category=NotificationCategory.REQUEST_DECIDED,
        subject=f"Request {verdict}: {_what(request)}",
        body=body,
        url=url,
    )


def tell_build_finished(request: ResourceRequest, *, succeeded: bool) -> None:
    """The provisioning job of an ask ended: tell the person who asked whether it is ready or why it failed."""
    if succeeded:
        subject = f"Ready: {_what(request)}"
        body = f"The {_what(request)} in team {request.team.name} is built and ready."
    else:
        subject = f"Build failed: {_what(request)}"
        body = f"Building the {_what(request)} in team {request.team.name} failed: {request.failure_reason}"
    notify(
        users=[request.requested_by],
        category=NotificationCategory.JOB_FINISHED,
        subject=subject,
        body=body,
        url=request.resource_url or request_page(request),
    )
