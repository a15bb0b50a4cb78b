"""Idempotent writes: a write sent again with the same ``Idempotency-Key`` gets the first answer back.

A CI job that retries a POST after a timeout must not get two VMs. The first call
creates an :class:`IdempotencyRecord` (unique per user and key) and runs inside
the transaction that holds it; concurrent repeats wait on that row, then replay
the stored answer. Answers of 5xx are not stored: the write rolled back, so a
retry may try again. A key sent with a different request is refused. A key is kept for
:data:`KEY_LIFETIME`; the user's older records are dropped as new ones are made.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
#: How long a key's first answer is kept: retries come within minutes, a day is generous.
KEY_LIFETIME = timedelta(hours=24)
REPLAYED_HEADER = "Idempotent-Replayed"


class KeyReused(exceptions.APIException):
    status_code = 422
    default_detail = "This Idempotency-Key was used with a different request; use a new key for a new request."
    default_code = "idempotency_key_reused"


def fingerprint(request: Request) -> str:
    """What makes two requests the same request: method, path and body."""
    body = json.dumps(request.data, sort_keys=True, default=str) if request.data else ""
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _claim(user_id: int, key: str, print_: str) -> IdempotencyRecord:
    """The record of this key, created if new, locked until the transaction ends.

    A concurrent first call blocks the insert on the unique index until it commits;
    the loser then finds the winner's row.
    """
    IdempotencyRecord.objects.filter(user_id=user_id, created_at__lt=timezone.now() - KEY_LIFETIME).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(user_id=user_id, key=key, fingerprint=print_)
    except IntegrityError:
        return IdempotencyRecord.objects.select_for_update().get(user_id=user_id, key=key)


def _replay(record: IdempotencyRecord) -> Response:
    headers = {REPLAYED_HEADER: "true"}
    if record.location:
        headers["Location"] = record.location
    return Response(record.response_body, status=record.status_code, headers=headers)


def _store(record: IdempotencyRecord, response: Response) -> None:
    record.status_code = response.status_code
    record.response_body = json.loads(JSONRenderer().render(response.data)) if response.data is not None else None
    record.location = response.get("Location", "")
    record.save(update_fields=["status_code", "response_body", "location"])


def idempotent(method: Callable[..., Response]) -> Callable[..., Response]:
    """Make a view's write method honour ``Idempotency-Key``; without the header it runs as it is."""

    @wraps(method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if not key:
            return method(view, request, *args, **kwargs)
        if len(key) > 255 or not key.isprintable():
            raise exceptions.ValidationError({HEADER: ["Use at most 255 printable characters."]})
        print_ = fingerprint(request)
        with transaction.atomic():
            record = _claim(int(request.user.pk or 0), key, print_)
            if record.status_code is not None:
                if record.fingerprint != print_:
                    raise KeyReused()
                return _replay(record)
            try:
                response = method(view, request, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - answered (and stored) in the API's one error shape
                response = view.handle_exception(exc)
            if response.status_code >= 500:
                transaction.set_rollback(True)
                return response
            _store(record, response)
            return response

    return wrapper
