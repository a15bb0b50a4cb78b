"""A property-based run of the whole API from its own schema against a live test server, with a seeded token.

Schemathesis generates requests for every operation the schema describes (valid and not);
the server must never answer 5xx, and every documented answer must match its schema.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from portal.api.authentication import PerTokenThrottle, PerUserThrottle
from portal.api.tokens import token_create
from portal.choices import Role
from tests.factories import (
    ContainerFactory,
    DockerNetworkFactory,
    HostFactory,
    ImageFactory,
    JobFactory,
    MembershipFactory,
    ResourceRequestFactory,
    TeamFactory,
    UserFactory,
    VirtualMachineFactory,
    VirtualNetworkFactory,
)

#: Examples per operation: enough to walk every parameter, few enough for CI.
EXAMPLES = 20

schema = schemathesis.openapi.from_dict(
    json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=float))
)


@pytest.fixture
def seeded_secret(transactional_db, monkeypatch) -> str:
    """A team admin's token and a team with one of everything, so that reads and writes find rows."""
    monkeypatch.setitem(PerTokenThrottle.THROTTLE_RATES, "token", "100000/min")
    monkeypatch.setitem(PerUserThrottle.THROTTLE_RATES, "user", "100000/min")
    team = TeamFactory(slug="blue", name="blue")
    user = UserFactory(username="admin", is_staff=True, is_superuser=True)
    MembershipFactory(user=user, team=team, role=Role.TEAM_ADMIN)
    host, image = HostFactory(), ImageFactory()
    VirtualMachineFactory(team=team, host=host, image=image)
    VirtualNetworkFactory(team=team, host=host)
    ContainerFactory(team=team)
    DockerNetworkFactory(team=team)
    ResourceRequestFactory(team=team, requested_by=user)
    JobFactory(team=team)
    _, secret = token_create(actor=user, name="contract")
    return secret


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_error_and_every_answer_matches_the_schema(case, live_server, seeded_secret, sent):
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {seeded_secret}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
