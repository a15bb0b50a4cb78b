"""List filters of the VM endpoints: team, state, host, image, time created."""

from __future__ import annotations

import django_filters

from hypervisors.choices import NetworkState, VMState
from hypervisors.models import VirtualMachine, VirtualNetwork
from portal.api.filters import CreatedRangeFilterSet, IdFilter


class VMFilterSet(CreatedRangeFilterSet):
    state = django_filters.ChoiceFilter(choices=VMState.choices)
    host = IdFilter(field_name="host_id")
    image = IdFilter(field_name="image_id")

    class Meta:
        model = VirtualMachine
        fields = ("team", "state", "host", "image", "created_after", "created_before")


class VMNetworkFilterSet(CreatedRangeFilterSet):
    state = django_filters.ChoiceFilter(choices=NetworkState.choices)
    host = IdFilter(field_name="host_id")

    class Meta:
        model = VirtualNetwork
        fields = ("team", "state", "host", "created_after", "created_before")
