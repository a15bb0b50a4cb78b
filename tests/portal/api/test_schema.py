"""The OpenAPI 3.1 schema validates, and its docs page loads everything from our own static files."""

import json

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_is_openapi_3_1_and_valid(schema):
    assert schema["openapi"] == "3.1.0"
    validate_schema(schema)
    validate(json.loads(json.dumps(schema, default=float)))


def test_every_endpoint_is_described(schema):
    paths = set(schema["paths"])
    for path in (
        "/api/v1/vms/", "/api/v1/vms/{uuid}/actions/{slug}/", "/api/v1/vms/{uuid}/resize/", "/api/v1/vms/preview/",
        "/api/v1/containers/", "/api/v1/containers/{id}/networks/{slug}/", "/api/v1/requests/{id}/approve/",
        "/api/v1/requests/pending/", "/api/v1/jobs/{id}/", "/api/v1/audit-events/", "/api/v1/teams/",
        "/api/v1/vm-networks/", "/api/v1/container-networks/", "/api/v1/hosts/", "/api/v1/images/",
        "/api/v1/container-images/", "/api/v1/tokens/{id}/",
    ):  # fmt: skip
        assert path in paths
    assert "bearerToken" in schema["components"]["securitySchemes"]


def test_the_ask_forms_are_described_with_their_limits(schema):
    ask = schema["components"]["schemas"]["VMAskRequest"]
    assert ask["properties"]["vcpus"]["maximum"] == 64
    assert "privileged" not in schema["components"]["schemas"]["ContainerAskRequest"]["properties"]


def test_schema_and_docs_are_served(member, client_for):
    client = client_for(member)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"drf_spectacular_sidecar/swagger-ui-dist" in docs.content
    assert b"cdn" not in docs.content.lower()
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
