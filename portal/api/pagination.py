"""Pagination: big lists page by cursor, so a deep page costs what the first one does."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination, PageNumberPagination


class CursorPage(CursorPagination):
    """Newest first by an indexed column; ``?ordering=`` may pick another of the view's indexed ones."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-created_at"


class IdCursorPage(CursorPage):
    """For rows whose creation time has no index: the primary key orders them the same way."""

    ordering = "-id"


class NumberedPage(PageNumberPagination):
    """Short lists (teams, networks, images, hosts, tokens)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
