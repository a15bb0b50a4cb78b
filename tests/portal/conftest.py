"""Fixtures of the portal tests: asks waiting for a decision."""

import pytest

from tests.factories import ResourceRequestFactory
from tests.support.metrics import metrics_token  # noqa: F401 (a fixture)


@pytest.fixture
def ask(team, member, image):
    """A pending ask of the member's team, as the form leaves it."""

    def make(name="web", **sizes):
        return ResourceRequestFactory(
            team=team, requested_by=member, name=name, spec={"image_id": image.pk, "image": image.name}, **sizes
        )

    return make
