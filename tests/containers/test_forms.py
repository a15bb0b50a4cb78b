"""The container request form and its parsers: typed text becomes plain values, or a clear error."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from containers.choices import ContainerKind
from containers.containers.forms import (
    MAX_ENV_VARS,
    ContainerRequestForm,
    parse_command,
    parse_environment,
    parse_ports,
)
from containers.models import Container
from containers.secrets import environment_open
from portal.choices import RequestState, Role
from portal.models import ResourceRequest
from tests.containers.conftest import image_row, make_container
from tests.factories import DockerHostFactory, MembershipFactory, ResourceRequestFactory, TeamFactory, UserFactory


def message_of(error: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(error.value.messages)


# --- parse_command ---


@pytest.mark.parametrize(
    ("text", "arguments"),
    [
        ("", []),
        ("   ", []),
        ("sleep 3600", ["sleep", "3600"]),
        ("echo \"hello world\" 'a b' c\\ d", ["echo", "hello world", "a b", "c d"]),
        ("sh -c 'echo $HOME; rm -rf / && ls | wc'", ["sh", "-c", "echo $HOME; rm -rf / && ls | wc"]),
        ("httpd -f -p 8080 -h /var/www", ["httpd", "-f", "-p", "8080", "-h", "/var/www"]),
        ('echo "it\'s"', ["echo", "it's"]),
    ],
)
def test_parse_command_splits_like_a_shell_without_one(text, arguments):
    assert parse_command(text) == arguments


@pytest.mark.parametrize("text", ["echo 'unclosed", 'echo "unclosed', "echo \"a'", "echo trailing\\"])
def test_parse_command_refuses_bad_quoting(text):
    with pytest.raises(ValidationError) as error:
        parse_command(text)
    assert message_of(error).startswith("The command cannot be split into arguments:")


# --- parse_environment ---


def test_parse_environment_reads_name_value_lines():
    text = "A=1\n\nB=two words\n   \nC=\nD=x=y\n  E =spaced name\r\nF='quoted'"
    assert parse_environment(text) == {
        "A": "1",
        "B": "two words",
        "C": "",
        "D": "x=y",
        "E": "spaced name",
        "F": "'quoted'",
    }


def test_parse_environment_empty():
    assert parse_environment("") == {}
    assert parse_environment("\n\n  \n") == {}


@pytest.mark.parametrize(
    "line", ["1A=x", "A-B=x", "=x", "NOVALUE", "A B=1", "ÄPFEL=1", "A.B=1", "$(id)=1", "A" * 129 + "=x"]
)
def test_parse_environment_refuses_bad_names(line):
    with pytest.raises(ValidationError) as error:
        parse_environment(f"OK=1\n\n{line}")
    assert message_of(error) == "Line 3: write NAME=value, with a name of letters, digits and _."


def test_parse_environment_refuses_duplicates():
    with pytest.raises(ValidationError) as error:
        parse_environment("A=1\nB=2\nA=3")
    assert message_of(error) == "Line 3: A is set twice."


@pytest.mark.parametrize("value", ["x\x00y", "\x00", "v" * 4097])
def test_parse_environment_refuses_nul_and_huge_values(value):
    with pytest.raises(ValidationError) as error:
        parse_environment(f"A={value}")
    assert message_of(error) == "Line 1: the value of A is not allowed (too long or a NUL byte)."


def test_parse_environment_keeps_a_value_of_the_longest_allowed_length():
    assert parse_environment("A=" + "v" * 4096) == {"A": "v" * 4096}


def test_parse_environment_limits_the_number_of_variables():
    at_limit = "\n".join(f"V{i}=x" for i in range(MAX_ENV_VARS))
    assert len(parse_environment(at_limit)) == MAX_ENV_VARS
    with pytest.raises(ValidationError) as error:
        parse_environment(at_limit + "\nONE_MORE=x")
    assert message_of(error) == f"At most {MAX_ENV_VARS} variables."


# --- parse_ports ---


def test_parse_ports_formats():
    assert parse_ports("8080:80\n\n  5353:53/udp  \n9000:9000/tcp\n5353:53") == [
        {"host_port": 8080, "container_port": 80, "protocol": "tcp"},
        {"host_port": 5353, "container_port": 53, "protocol": "udp"},
        {"host_port": 9000, "container_port": 9000, "protocol": "tcp"},
        {"host_port": 5353, "container_port": 53, "protocol": "tcp"},
    ]
    assert parse_ports("") == []


@pytest.mark.parametrize(
    "line",
    [
        "80",
        "a:b",
        "8080:80/sctp",
        "8080:80/TCP",
        "127.0.0.1:8080:80",
        "0.0.0.0:8080:80",
        "8080-8090:80",
        ":80",
        "8080:",
        "8080:80/",
        "-8080:80",
        "8080:80 9090:90",
        "123456:80",
    ],
)
def test_parse_ports_refuses_other_formats(line):
    with pytest.raises(ValidationError) as error:
        parse_ports(f"8080:80\n{line}")
    assert message_of(error) == "Line 2: write HOST:CONTAINER or HOST:CONTAINER/udp, e.g. 8080:80."


@pytest.mark.parametrize("line", ["0:80", "22:22", "80:80", "443:443", "1023:80", "65536:80", "99999:80"])
def test_parse_ports_refuses_host_ports_out_of_range(line):
    with pytest.raises(ValidationError) as error:
        parse_ports(line)
    assert message_of(error) == "Line 1: host ports go from 1024 to 65535."


@pytest.mark.parametrize("line", ["8080:0", "8080:65536", "8080:99999"])
def test_parse_ports_refuses_container_ports_out_of_range(line):
    with pytest.raises(ValidationError) as error:
        parse_ports(line)
    assert message_of(error) == "Line 1: container ports go from 1 to 65535."


@pytest.mark.parametrize("line", ["1024:1", "65535:65535"])
def test_parse_ports_range_edges_pass(line):
    assert len(parse_ports(line)) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("8080:80\n8080:81", "Line 2: host port 8080/tcp is listed twice."),
        ("8080:80/tcp\n\n8080:80", "Line 3: host port 8080/tcp is listed twice."),
        ("5353:53/udp\n5353:54/udp", "Line 2: host port 5353/udp is listed twice."),
    ],
)
def test_parse_ports_refuses_duplicates(text, message):
    with pytest.raises(ValidationError) as error:
        parse_ports(text)
    assert message_of(error) == message


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
