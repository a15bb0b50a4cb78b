"""The Prometheus endpoint: the exposition of ``portal.metrics``, for a scraper holding the token.

Off unless ``PORTAL_METRICS_TOKEN`` is set (404, as if there were no such page); otherwise a
request without that bearer token gets 401. The token is compared in constant time and never
logged; the answer is built from database rows (and the broker's queue lengths), never a host.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from portal.metrics import metrics_exposition


def bearer_token_matches(request: HttpRequest, expected: str) -> bool:
    """Whether the request carries ``Authorization: Bearer <expected>``, compared in constant time."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


@method_decorator(never_cache, name="dispatch")
class MetricsView(View):
    """``GET /metrics``: every metric family, in the Prometheus text format."""

    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest) -> HttpResponse:
        expected = settings.PORTAL_METRICS_TOKEN
        if not expected:
            raise Http404("Metrics are not enabled.")
        if not bearer_token_matches(request, expected):
            response = HttpResponse("A valid bearer token is needed.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_LATEST)
