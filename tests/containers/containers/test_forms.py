"""The container request form: teams, images and sizes a member may choose, and what it refuses."""

from __future__ import annotations

import pytest

from containers.choices import ContainerKind
from containers.containers.forms import (
    ContainerRequestForm,
)
from containers.models import Container
from containers.secrets import environment_open
from portal.choices import RequestState, Role
from portal.models import ResourceRequest
from tests.factories import DockerHostFactory, MembershipFactory, ResourceRequestFactory, TeamFactory, UserFactory
from tests.support.container_rows import image_row, make_container

# --- the form ---


@pytest.fixture
def green(db, member):
    """A second team of the member."""
    team = TeamFactory(name="green", slug="green")
    MembershipFactory(user=member, team=team, role=Role.MEMBER)
    return team


@pytest.fixture
def data(team, busybox_row):
    return {
        "name": "web",
        "team": str(team.pk),
        "image": str(busybox_row.pk),
        "command": "httpd -f -p 8080 -h /var/www",
        "environment": "GREETING=hello",
        "ports": "18080:8080",
        "cpus": "0.5",
        "memory_mib": "64",
        "restart_policy": "no",
        "justification": "a web server",
    }


def form_for(user, data) -> ContainerRequestForm:
    form = ContainerRequestForm(data, user=user)
    form.is_valid()
    return form


@pytest.mark.django_db
def test_valid_form_gives_plain_values(member, data, busybox_row, docker_host):
    form = form_for(member, data)
    assert form.is_valid(), form.errors
    spec = form.spec(form.cleaned_data)
    environment = spec.pop("environment")
    assert spec == {
        "image_id": busybox_row.pk,
        "image": "portal/busybox:latest",
        "docker_host_id": docker_host.pk,
        "command": ["httpd", "-f", "-p", "8080", "-h", "/var/www"],
        "ports": [{"host_port": 18080, "container_port": 8080, "protocol": "tcp"}],
        "restart_policy": "no",
    }
    # environment values are stored sealed; only the worker opens them
    assert list(environment) == ["GREETING"] and "hello" not in environment["GREETING"]
    assert environment_open(environment) == {"GREETING": "hello"}
    assert form.sizes(form.cleaned_data) == (form.cleaned_data["cpus"], 64, 0)


@pytest.mark.django_db
def test_image_offered_to_another_team_of_the_user_is_refused_for_this_team(member, data, green, docker_host):
    green_only = image_row(docker_host, "green/tool:1", green)
    form = form_for(member, {**data, "image": str(green_only.pk)})
    assert form.errors["image"] == ["green/tool:1 is not offered to team blue."]
    assert form_for(member, {**data, "image": str(green_only.pk), "team": str(green.pk)}).is_valid()


@pytest.mark.django_db
def test_image_of_a_team_the_user_is_not_in_is_not_even_a_choice(member, data, outsider, docker_host):
    from portal.models import Team

    red_only = image_row(docker_host, "red/secret:1", Team.objects.get(slug="red"))
    form = form_for(member, {**data, "image": str(red_only.pk)})
    assert "Select a valid choice" in form.errors["image"][0]
    assert red_only not in form.fields["image"].queryset


@pytest.mark.django_db
def test_image_no_longer_present_is_not_a_choice(member, data, team, docker_host):
    gone = image_row(docker_host, "blue/gone:1", team, present=False)
    form = form_for(member, {**data, "image": str(gone.pk)})
    assert "Select a valid choice" in form.errors["image"][0]


@pytest.fixture
def red_team(outsider):
    from portal.models import Team

    return Team.objects.get(slug="red")


@pytest.mark.django_db
def test_port_of_a_live_container_on_the_same_engine_is_refused_without_naming_who_holds_it(
    member, data, red_team, outsider, docker_host
):
    red_image = image_row(docker_host, "red/web:1", red_team)
    make_container(
        red_team,
        outsider,
        docker_host=docker_host,
        image=red_image,
        name="holder",
        ports=[{"host_port": 18080, "container_port": 80, "protocol": "tcp"}],
    )
    form = form_for(member, data)
    assert form.errors["ports"] == ["Port 18080/tcp is already taken on engine docker-a."]
    assert "red" not in str(form.errors) and "holder" not in str(form.errors)


@pytest.mark.django_db
def test_port_of_a_stopped_container_is_still_held(member, data, team, busybox_row, docker_host):
    make_container(
        team,
        member,
        docker_host=docker_host,
        image=busybox_row,
        name="stopped",
        state="exited",
        ports=[{"host_port": 18080, "container_port": 80, "protocol": "tcp"}],
    )
    assert form_for(member, data).errors["ports"] == ["Port 18080/tcp is already taken on engine docker-a."]


@pytest.mark.django_db
@pytest.mark.parametrize("state", [RequestState.PENDING, RequestState.APPROVED, RequestState.PROVISIONING])
def test_port_of_an_active_request_on_the_same_engine_is_refused(member, data, red_team, outsider, docker_host, state):
    ResourceRequestFactory(
        team=red_team,
        requested_by=outsider,
        kind=ContainerKind.CONTAINER,
        name="asker",
        state=state,
        spec={
            "docker_host_id": docker_host.pk,
            "ports": [{"host_port": 18080, "container_port": 1, "protocol": "tcp"}],
        },
    )
    assert form_for(member, data).errors["ports"] == ["Port 18080/tcp is already taken on engine docker-a."]


@pytest.mark.django_db
@pytest.mark.parametrize("state", [RequestState.REJECTED, RequestState.CANCELLED, RequestState.FAILED])
def test_port_of_a_finished_request_is_free(member, data, red_team, outsider, docker_host, state):
    ResourceRequestFactory(
        team=red_team,
        requested_by=outsider,
        kind=ContainerKind.CONTAINER,
        name="asker",
        state=state,
        spec={
            "docker_host_id": docker_host.pk,
            "ports": [{"host_port": 18080, "container_port": 1, "protocol": "tcp"}],
        },
    )
    assert form_for(member, data).is_valid()


@pytest.mark.django_db
def test_same_port_on_another_engine_or_protocol_is_free(member, data, team, busybox_row):
    other_engine = DockerHostFactory(name="docker-b")
    other_image = image_row(other_engine, "portal/busybox:latest", team)
    make_container(
        team,
        member,
        docker_host=other_engine,
        image=other_image,
        name="elsewhere",
        ports=[{"host_port": 18080, "container_port": 80, "protocol": "tcp"}],
    )
    make_container(
        team,
        member,
        docker_host=busybox_row.docker_host,
        image=busybox_row,
        name="udp",
        ports=[{"host_port": 18080, "container_port": 53, "protocol": "udp"}],
    )
    assert form_for(member, data).is_valid()


@pytest.mark.django_db
def test_several_held_ports_are_each_named(member, data, team, busybox_row, docker_host):
    make_container(
        team,
        member,
        docker_host=docker_host,
        image=busybox_row,
        name="holder",
        ports=[
            {"host_port": 18080, "container_port": 80, "protocol": "tcp"},
            {"host_port": 18081, "container_port": 81, "protocol": "tcp"},
        ],
    )
    form = form_for(member, {**data, "ports": "18080:80\n18081:81\n18082:82"})
    assert form.errors["ports"] == [
        "Port 18080/tcp is already taken on engine docker-a.",
        "Port 18081/tcp is already taken on engine docker-a.",
    ]


UNKNOWN_FIELDS = [
    {"privileged": "on"},
    {"volumes": "/:/host"},
    {"network_mode": "host"},
    {"cap_add": "SYS_ADMIN"},
    {"pid_mode": "host"},
    {"binds": "/var/run/docker.sock:/var/run/docker.sock"},
    {"devices": "/dev/sda"},
    {"security_opt": "seccomp=unconfined"},
]


@pytest.mark.django_db
@pytest.mark.parametrize("extra", UNKNOWN_FIELDS, ids=lambda extra: next(iter(extra)))
def test_unknown_posted_fields_are_refused(member, data, extra):
    form = form_for(member, {**data, **extra})
    assert not form.is_valid()
    assert form.non_field_errors() == [f"These options cannot be asked for here: {next(iter(extra))}."]


@pytest.mark.django_db
def test_all_unknown_fields_are_named_at_once(member, data):
    extra = {k: v for field in UNKNOWN_FIELDS[:5] for k, v in field.items()}
    form = form_for(member, {**data, **extra})
    assert form.non_field_errors() == [
        "These options cannot be asked for here: cap_add, network_mode, pid_mode, privileged, volumes."
    ]


@pytest.mark.django_db
def test_unknown_fields_posted_to_the_page_create_nothing(client, member, data, no_hypervisor):
    client.force_login(member)
    extra = {
        "privileged": "on",
        "volumes": "/:/host",
        "network_mode": "host",
        "cap_add": "SYS_ADMIN",
        "pid_mode": "host",
    }
    response = client.post("/containers/new/", {**data, **extra})
    assert response.status_code == 400
    assert "These options cannot be asked for here: cap_add, network_mode, pid_mode, privileged, volumes." in (
        response.content.decode().replace("&#x27;", "'")
    )
    assert not ResourceRequest.objects.exists()
    assert not Container.objects.exists()


@pytest.mark.django_db
def test_valid_post_to_the_page_creates_a_pending_request_only(client, member, data, team, no_hypervisor):
    client.force_login(member)
    response = client.post("/containers/new/", data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    request = ResourceRequest.objects.get()
    assert (request.team, request.kind, request.name, request.state) == (
        team,
        ContainerKind.CONTAINER,
        "web",
        RequestState.PENDING,
    )
    assert request.memory_mib == 64
    assert str(request.vcpus) in ("0.5", "0.50")
    assert request.spec["ports"] == [{"host_port": 18080, "container_port": 8080, "protocol": "tcp"}]
    assert not Container.objects.exists(), "a container row exists only once the request is approved"


@pytest.mark.django_db
def test_viewer_cannot_choose_the_team(viewer, data):
    form = form_for(viewer, data)
    assert "Select a valid choice" in form.errors["team"][0]


@pytest.mark.django_db
def test_a_second_team_member_sees_only_their_teams_images(db, docker_host, team):
    stranger = UserFactory(username="stranger")
    own = TeamFactory(name="own", slug="own")
    MembershipFactory(user=stranger, team=own, role=Role.MEMBER)
    mine = image_row(docker_host, "own/img:1", own)
    image_row(docker_host, "blue/img:1", team)
    form = ContainerRequestForm(user=stranger)
    assert list(form.fields["image"].queryset) == [mine]


@pytest.mark.django_db
def test_image_on_an_engine_closed_to_new_containers_is_refused(member, data, docker_host):
    from containers.models import DockerHost

    DockerHost.objects.filter(pk=docker_host.pk).update(accepts_new_containers=False)
    assert not form_for(member, data).is_valid()
