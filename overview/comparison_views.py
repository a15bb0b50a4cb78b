"""The "KVM or Docker?" page and the hint on the request forms, read from the figures table only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View
from django.views.generic import TemplateView

from overview.comparison import figures_all, fits, typical_sizes
from overview.models import Platform
from portal.selectors import teams_for

#: The request kinds that get a hint, and the platform whose figures it shows.
HINT_PLATFORMS = {"vm": Platform.KVM, "container": Platform.DOCKER}


class ComparisonView(LoginRequiredMixin, TemplateView):
    """Per host and engine: time to running, memory beyond the size given, and room for the team's typical size."""

    template_name = "overview/comparison.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        sizes = typical_sizes(list(teams_for(self.request.user).values_list("pk", flat=True)))
        rows = [(figures, fits(figures, sizes.get(figures.platform))) for figures in figures_all()]
        context["sections"] = [
            (platform, [row for row in rows if row[0].platform == platform]) for platform in Platform
        ]
        context["sizes"] = [(Platform(platform).label, size) for platform, size in sizes.items()]
        context["window_days"] = settings.PORTAL_COMPARISON_DAYS
        context["computed_at"] = max((figures.computed_at for figures, _ in rows), default=None)
        return context


class ComparisonHintView(LoginRequiredMixin, View):
    """A short line for a request form: how long this installation takes to start one, median over its places."""

    def get(self, request: HttpRequest) -> HttpResponse:
        platform = HINT_PLATFORMS.get(request.GET.get("kind", ""))
        # Ordered by builds: the place with the most builds is read last, so its figure wins.
        starts = {
            figures.platform: figures.start_median_seconds
            for figures in figures_all().filter(start_median_seconds__isnull=False).order_by("builds")
        }
        if platform is None or not starts:
            return HttpResponse("")
        return render(
            request,
            "overview/_comparison_hint.html",
            {"mine": starts.get(platform), "other": starts.get(_other(platform)), "platform": platform},
        )


def _other(platform: str) -> str:
    return Platform.DOCKER if platform == Platform.KVM else Platform.KVM
