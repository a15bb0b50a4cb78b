"""List filters of the container endpoints: team, state, engine, image, time created."""

from __future__ import annotations

import django_filters

from containers.choices import ContainerState
from containers.models import Container
from portal.api.filters import CreatedRangeFilterSet, IdFilter


class ContainerFilterSet(CreatedRangeFilterSet):
    state = django_filters.ChoiceFilter(choices=ContainerState.choices)
    host = IdFilter(field_name="docker_host_id")
    image = IdFilter(field_name="image_id")

    class Meta:
        model = Container
        fields = ("team", "state", "host", "image", "created_after", "created_before")
