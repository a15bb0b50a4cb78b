"""Storage pages: every pool and volume for administrators (with the guarded delete of orphans), and a
team's own volumes for its members. Both render rows the reconcile keeps; none asks a host.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from hypervisors.hosts.pool_panels import pool_panels
from hypervisors.hosts.selectors import storage_pools_with_volumes, storage_volume_get, team_volumes_for
from hypervisors.hosts.services import volume_delete_request
from hypervisors.hosts.views import StaffOnlyMixin
from hypervisors.models import StorageVolume


class StorageView(StaffOnlyMixin, TemplateView):
    """Each host's pools with their fill and volumes, the VM that owns each, and the orphans flagged."""

    template_name = "hypervisors/storage.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        pools = list(storage_pools_with_volumes())
        context["hosts"] = [(host, pool_panels(list(group))) for host, group in groupby(pools, key=lambda p: p.host)]
        context["may_delete"] = self.request.user.has_perm("hypervisors.delete_storagevolume")
        context["warn_percent"] = round(settings.PORTAL_POOL_FILL_WARN * 100)
        return context


class VolumeDeleteView(StaffOnlyMixin, View):
    """GET: ask to confirm the delete of an orphan volume. POST (with CSRF): queue it as a job."""

    def _volume(self, pk: int) -> StorageVolume:
        try:
            return storage_volume_get(pk)
        except StorageVolume.DoesNotExist as error:
            raise Http404("No such volume.") from error

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render(request, "hypervisors/volume_delete.html", {"volume": self._volume(pk)})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        volume = self._volume(pk)
        if request.POST.get("confirm") != volume.name:
            error = "Type the volume's name to confirm the delete."
            return render(request, "hypervisors/volume_delete.html", {"volume": volume, "error": error}, status=400)
        try:
            job = volume_delete_request(actor=request.user, volume_id=volume.pk)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"Deleting {volume.name} as job {job.pk} (its log is in the admin's jobs): "
                "the worker checks once more that nothing uses it.",
            )
        # Host jobs belong to no team: administrators follow them here and in the admin's job list.
        return redirect(f"{reverse('storage')}#pool-{volume.pool_id}")


class TeamVolumesView(LoginRequiredMixin, TemplateView):
    """The volumes of the user's teams' VMs: name, size and pool; no other team's, no orphans."""

    template_name = "hypervisors/team_volumes.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["volumes"] = team_volumes_for(self.request.user)[:500]
        return context
