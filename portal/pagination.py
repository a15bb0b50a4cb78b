"""Pages of long lists whose cost does not grow with the list: a capped count and keyset links.

Django's paginator counts every row (``COUNT(*)``) and reaches page N with ``OFFSET``, so a
page of a 100,000-row list reads 100,000 rows. Here the count stops at ``COUNT_CAP``; a list
within it is paged by number as before (cheap at that size). A longer one is paged by keyset:
the link to the next page carries the sort values of the last row shown, and the next page is
the rows after them (``WHERE (sort columns) > (values) ORDER BY ... LIMIT``), which an index on
the sort columns serves without reading the rows before. "Last" reads the order backwards.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.http import Http404

#: Rows counted at most; a longer list is shown as "more than" this and paged by keyset.
COUNT_CAP = 1000


def count_capped(queryset: QuerySet[Any], cap: int = COUNT_CAP) -> int:
    """The number of rows, counting no further than ``cap + 1`` (so the answer says "more than cap")."""
    return queryset.order_by()[: cap + 1].count()


@dataclass(frozen=True)
class SortKey:
    """One column of a list's order: a field path (``team__name``), its direction, and whether it can be NULL."""

    path: str
    descending: bool
    nullable: bool

    def reversed(self) -> SortKey:
        return SortKey(self.path, not self.descending, self.nullable)

    def order_by(self) -> OrderBy:
        # NULLs sort as the largest value in both directions, on every database, so that the
        # keyset comparison below and the ORDER BY agree (PostgreSQL's own default, too).
        if self.descending:
            return F(self.path).desc(nulls_first=True)
        return F(self.path).asc(nulls_last=True)

    def after(self, value: Any) -> tuple[Q, Q]:
        """(rows strictly after ``value`` in this key's order, rows equal to it)."""
        if value is None:
            if self.descending:  # NULLs come first
                return Q(**{f"{self.path}__isnull": False}), Q(**{f"{self.path}__isnull": True})
            return Q(pk__in=[]), Q(**{f"{self.path}__isnull": True})  # NULLs come last: nothing after
        beyond = Q(**{f"{self.path}__{'lt' if self.descending else 'gt'}": value})
        if self.nullable and not self.descending:
            beyond |= Q(**{f"{self.path}__isnull": True})
        return beyond, Q(**{self.path: value})


def sort_keys(model: type[models.Model], ordering: Sequence[str]) -> list[SortKey]:
    """The keys of an ``order_by`` list of field names (``-name``, ``team__name``, ``pk``); must end unique."""
    keys = []
    for entry in ordering:
        path = entry.lstrip("-")
        keys.append(SortKey(path=path, descending=entry.startswith("-"), nullable=_nullable(model, path)))
    return keys


def _nullable(model: type[models.Model], path: str) -> bool:
    """Whether a field path can read NULL: a nullable field, or one across a nullable relation."""
    if path == "pk":
        return False
    for name in path.split("__"):
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return True
        if getattr(model_field, "null", False):
            return True
        related = getattr(model_field, "related_model", None)
        if isinstance(related, type) and issubclass(related, models.Model):
            model = related
    return False


def keyset_filter(keys: Sequence[SortKey], values: Sequence[Any]) -> Q:
    """Rows after ``values`` in the order of ``keys``: (k1 > v1) or (k1 = v1 and (k2 > v2 or ...)).

    The first key's bound is repeated on its own (``k1 >= v1``), so the database can start an
    index scan there instead of testing every row.
    """
    condition: Q | None = None
    for key, value in reversed(list(zip(keys, values, strict=True))):
        beyond, equal = key.after(value)
        condition = beyond if condition is None else beyond | (equal & condition)
    assert condition is not None
    first, value = keys[0], values[0]
    if value is not None and not first.nullable:
        condition &= Q(**{f"{first.path}__{'lte' if first.descending else 'gte'}": value})
    return condition


def _value(row: models.Model, path: str) -> Any:
    value: Any = row
    for name in path.split("__"):
        value = getattr(value, name, None) if value is not None else None
    return value


def _json_value(value: Any) -> str:
    # Full precision: a timestamp cut to milliseconds would skip or repeat rows at a page's edge.
    return value.isoformat() if isinstance(value, date) else str(value)


def cursor_encode(row: models.Model, keys: Sequence[SortKey]) -> str:
    """The sort values of a row as an opaque, URL-safe token."""
    text = json.dumps([_value(row, key.path) for key in keys], default=_json_value, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_decode(token: str, keys: Sequence[SortKey]) -> list[Any] | None:
    """The values of a token, or None if it is not one of ours (a bad link shows the first page)."""
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(values, list) or len(values) != len(keys):
        return None
    if not all(value is None or isinstance(value, str | int | float) for value in values):
        return None
    return values


@dataclass
class KeysetPage:
    """One page of a long list, with what ``_pagination.html`` needs to link its neighbours."""

    object_list: list[Any]
    has_next: bool
    has_previous: bool
    next_cursor: str = ""
    previous_cursor: str = ""
    count_cap: int = COUNT_CAP
    keyset: bool = field(default=True, init=False)

    def __iter__(self) -> Any:
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)


def keyset_page(
    queryset: QuerySet[Any], ordering: Sequence[str], size: int, *, params: Any, cap: int = COUNT_CAP
) -> KeysetPage:
    """The page of ``queryset`` the request's ``after``, ``before`` or ``page`` asks for.

    ``page=last`` is the end of the list; ``page=N`` (a link from when the list was shorter)
    is served by offset; a bad cursor or number shows the first page, a page past the end is 404.
    """
    keys = sort_keys(queryset.model, ordering)
    forward = queryset.order_by(*(key.order_by() for key in keys))
    backward = queryset.order_by(*(key.reversed().order_by() for key in keys))
    after, before, page = params.get("after"), params.get("before"), params.get("page")
    rows: list[Any]
    if before and (values := cursor_decode(before, keys)) is not None:
        rows = _fetch(backward, keyset_filter([key.reversed() for key in keys], values), size + 1)
        has_previous, has_next = len(rows) > size, True
        rows = rows[:size][::-1]
    elif page == "last":
        rows = list(backward[: size + 1])
        has_previous, has_next = len(rows) > size, False
        rows = rows[:size][::-1]
    elif after and (values := cursor_decode(after, keys)) is not None:
        rows = _fetch(forward, keyset_filter(keys, values), size + 1)
        has_previous, has_next = True, len(rows) > size
        rows = rows[:size]
    else:
        number = int(page) if page and page.isdigit() and 0 < int(page) <= cap // size + 1 else 1
        rows = list(forward[(number - 1) * size : number * size + 1])
        if not rows and number > 1:
            raise Http404("No such page.")
        has_previous, has_next = number > 1, len(rows) > size
        rows = rows[:size]
    return KeysetPage(
        object_list=rows,
        has_next=has_next,
        has_previous=has_previous,
        next_cursor=cursor_encode(rows[-1], keys) if rows and has_next else "",
        previous_cursor=cursor_encode(rows[0], keys) if rows and has_previous else "",
        count_cap=cap,
    )


def _fetch(queryset: QuerySet[Any], condition: Q, limit: int) -> list[Any]:
    """Rows after a cursor; a cursor whose values do not fit the columns reads as no rows."""
    try:
        return list(queryset.filter(condition)[:limit])
    except (ValidationError, ValueError, TypeError):
        return []
