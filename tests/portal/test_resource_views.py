"""The generic pages of a live resource, through the two kinds that use them (VMs and containers): the page and its
status fragment, an unknown or foreign resource, and actions answered as a fragment or a redirect.

No hypervisor or engine is contacted: the pages render from rows, and actions only queue jobs.
"""

from __future__ import annotations

import uuid

import pytest

from tests.factories import ContainerImageFactory, DockerHostFactory, HostFactory, ImageFactory, VirtualMachineFactory
from tests.support.container_logs import log_store  # noqa: F401 (a fixture)
from tests.support.container_rows import make_container
from tests.support.pages import HTMX, csrf_post, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_hypervisor", "sent", "log_store")]


def vm_of(team, owner):
    vm = VirtualMachineFactory(team=team, owner=owner, host=HostFactory(name="kvm1"), image=ImageFactory(), name="web")
    return f"/vms/{vm.uuid}/", f"/vms/{uuid.uuid4()}/", "vm-changed"


def container_of(team, owner):
    engine = DockerHostFactory(base_url="unix:///nonexistent/docker.sock", is_reachable=True)
    image = ContainerImageFactory(docker_host=engine, offered_to=[team])
    container = make_container(team, owner, docker_host=engine, image=image, name="web")
    return f"/containers/{container.pk}/", f"/containers/{container.pk + 1}/", "container-changed"


@pytest.fixture(params=[vm_of, container_of], ids=["vm", "container"])
def resource(request, team, member):
    """The page, an unknown page and the change event of a running resource of the member's team."""
    return request.param(team, member)


def test_the_page_and_its_status_fragment(client_for, member, resource):
    url, _, _ = resource
    client = client_for(member)
    page = client.get(url)
    fragment = client.get(url, headers=HTMX)
    assert page.status_code == fragment.status_code == 200
    assert "<html" in text(page)
    assert "<html" not in text(fragment)
    assert "Running" in text(fragment)


def test_an_unknown_or_foreign_resource_is_a_404_and_htmx_is_sent_to_the_requests(
    client_for, member, outsider, resource
):
    url, unknown, _ = resource
    for client, address in ((client_for(member), unknown), (client_for(outsider), url)):
        assert client.get(address).status_code == 404
        response = client.get(address, headers=HTMX)
        assert response.status_code == 404
        assert response["HX-Redirect"] == "/requests/"


def test_an_accepted_action_redirects_to_the_page_with_a_message(client_for, member, resource):
    url, _, _ = resource
    response = csrf_post(
        client_for(member), f"{url}actions/stop/" if "containers" in url else f"{url}actions/shutdown/"
    )
    assert (response.status_code, response["Location"]) == (302, url)
    followed = client_for(member).get(url)
    assert response.wsgi_request and followed.status_code == 200


def test_an_htmx_action_answers_with_the_fragment_and_the_change_event(client_for, member, resource):
    url, _, event = resource
    slug = "stop" if "containers" in url else "shutdown"
    response = csrf_post(client_for(member), f"{url}actions/{slug}/", htmx=True)
    assert response.status_code == 200
    assert response["HX-Trigger"] == event
    assert "<html" not in text(response)


def test_a_refused_action_is_said_in_the_fragment_or_as_a_message(client_for, member, resource):
    url, _, _ = resource
    client = client_for(member)
    refused = csrf_post(client, f"{url}actions/start/", htmx=True)
    assert refused.status_code == 200
    assert "cannot be asked to start" in text(refused)
    followed = csrf_post(client, f"{url}actions/start/", follow=True)
    assert "cannot be asked to start" in text(followed)


def test_a_role_refused_is_a_403(client_for, viewer, resource):
    url, _, _ = resource
    assert csrf_post(client_for(viewer), f"{url}actions/start/", htmx=True).status_code == 403
