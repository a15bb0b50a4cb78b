"""Forms about networks: asking for a team network, and attaching a VM to one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from hypervisors.choices import TEAM_NETWORK_KINDS, HypervisorKind, NetworkKind
from hypervisors.models import AddressPool
from portal.forms import ResourceRequestForm


class NetworkRequestForm(ResourceRequestForm):
    """Ask for a team's own NAT or isolated VM network; its subnet comes from an address pool."""

    kind = HypervisorKind.NETWORK

    network_kind = forms.ChoiceField(
        label="Kind", choices=[(k.value, k.label) for k in NetworkKind if k in TEAM_NETWORK_KINDS]
    )
    pool = forms.ModelChoiceField(
        queryset=AddressPool.objects.all(), required=False, empty_label="Any pool", label="Address pool"
    )
    field_order = ("name", "team", "network_kind", "pool", "justification")

    def sizes(self, data: dict[str, Any]) -> tuple[Decimal | int, int, int]:
        return 0, 0, 0

    def spec(self, data: dict[str, Any]) -> dict[str, Any]:
        pool = data.get("pool")
        return {"kind": data["network_kind"], "pool_id": pool.pk if pool else None}
