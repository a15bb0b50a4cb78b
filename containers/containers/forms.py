"""The form people fill in to ask for a container, and the parsers of its free-text fields.

Every field is parsed into a plain value here; nothing typed travels further as
text to be interpreted (the engine gets an argument list, a dict, port numbers).
"""

from __future__ import annotations

import re
import shlex
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError

from containers.choices import ContainerKind, PortProtocol, RestartPolicy
from containers.containers.selectors import images_offered_to, ports_in_use
from containers.models import MIN_CONTAINER_MEMORY_MIB, ContainerImage, DockerNetwork
from containers.secrets import environment_seal
from portal.forms import ResourceRequestForm

MAX_CPUS = Decimal("64")
MAX_MEMORY_MIB = 256 * 1024
MAX_ENV_VARS = 64
#: Host ports below this are for the host's own services.
MIN_HOST_PORT = 1024
ENV_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
PORT_LINE = re.compile(r"\A(?P<host>\d{1,5}):(?P<container>\d{1,5})(?:/(?P<protocol>tcp|udp))?\Z")


def parse_command(text: str) -> list[str]:
    """A command line split as a shell would, without a shell ever running it."""
    try:
        return shlex.split(text)
    except ValueError as error:
        raise ValidationError(f"The command cannot be split into arguments: {error}.") from error


def parse_environment(text: str) -> dict[str, str]:
    """``NAME=value`` lines as a dict; blank lines are skipped."""
    environment: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, separator, value = line.partition("=")
        name = name.strip()
        if not separator or not ENV_NAME.match(name):
            raise ValidationError(f"Line {number}: write NAME=value, with a name of letters, digits and _.")
        if "\x00" in value or len(value) > 4096:
            raise ValidationError(f"Line {number}: the value of {name} is not allowed (too long or a NUL byte).")
        if name in environment:
            raise ValidationError(f"Line {number}: {name} is set twice.")
        environment[name] = value
    if len(environment) > MAX_ENV_VARS:
        raise ValidationError(f"At most {MAX_ENV_VARS} variables.")
    return environment


def parse_ports(text: str) -> list[dict[str, Any]]:
    """``HOST:CONTAINER[/tcp|udp]`` lines as port mappings."""
    ports: list[dict[str, Any]] = []
    seen: set[tuple[int, str]] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = PORT_LINE.match(line.strip())
        if not match:
            raise ValidationError(f"Line {number}: write HOST:CONTAINER or HOST:CONTAINER/udp, e.g. 8080:80.")
        host_port, container_port = int(match["host"]), int(match["container"])
        protocol = match["protocol"] or PortProtocol.TCP
        if not MIN_HOST_PORT <= host_port <= 65535:
            raise ValidationError(f"Line {number}: host ports go from {MIN_HOST_PORT} to 65535.")
        if not 1 <= container_port <= 65535:
            raise ValidationError(f"Line {number}: container ports go from 1 to 65535.")
        if (host_port, protocol) in seen:
            raise ValidationError(f"Line {number}: host port {host_port}/{protocol} is listed twice.")
        seen.add((host_port, protocol))
        ports.append({"host_port": host_port, "container_port": container_port, "protocol": protocol})
    return ports


class ContainerRequestForm(ResourceRequestForm):
    """Ask for a container from an image offered to the team."""

    kind = ContainerKind.CONTAINER
    #: Where quota shortfalls are shown: CPUs are asked for in the ``cpus`` field here.
    QUOTA_FIELDS = {"vcpus": "cpus", "memory_mib": "memory_mib"}

    image = forms.ModelChoiceField(queryset=ContainerImage.objects.none(), empty_label=None)
    command = forms.CharField(required=False, max_length=1000, help_text="Optional; split like a shell would.")
    environment = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 3}), help_text="NAME=value per line."
    )
    ports = forms.CharField(
        label="Published ports",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="HOST:CONTAINER per line, e.g. 8080:80 or 5353:53/udp.",
    )
    cpus = forms.DecimalField(
        label="CPUs", min_value=Decimal("0.01"), max_value=MAX_CPUS, decimal_places=2, max_digits=6, initial="0.5"
    )
    memory_mib = forms.IntegerField(
        label="Memory (MiB)", min_value=MIN_CONTAINER_MEMORY_MIB, max_value=MAX_MEMORY_MIB, initial=64
    )
    restart_policy = forms.ChoiceField(choices=RestartPolicy.choices, initial=RestartPolicy.NO)
    field_order = (
        "name", "team", "image", "command", "environment", "ports", "cpus", "memory_mib", "restart_policy",
        "justification",
    )  # fmt: skip

    def __init__(self, *args: Any, user: User | AnonymousUser, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["image"].queryset = images_offered_to(self.fields["team"].queryset)  # type: ignore[attr-defined]

    def clean_command(self) -> list[str]:
        return parse_command(self.cleaned_data.get("command", ""))

    def clean_environment(self) -> dict[str, str]:
        return parse_environment(self.cleaned_data.get("environment", ""))

    def clean_ports(self) -> list[dict[str, Any]]:
        return parse_ports(self.cleaned_data.get("ports", ""))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        image, team = cleaned.get("image"), cleaned.get("team")
        if image is not None and team is not None and not image.offered_to.filter(pk=team.pk).exists():
            self.add_error("image", f"{image.reference} is not offered to team {team}.")
        if image is not None and cleaned.get("ports"):
            taken = ports_in_use(image.docker_host)
            for port in cleaned["ports"]:
                # Who holds the port is not said: it may be another team's container.
                if (port["host_port"], port["protocol"]) in taken:
                    where = f"{port['host_port']}/{port['protocol']}"
                    self.add_error("ports", f"Port {where} is already taken on engine {image.docker_host}.")
        return cleaned

    def sizes(self, data: dict[str, Any]) -> tuple[Decimal | int, int, int]:
        return data.get("cpus") or 0, data.get("memory_mib") or 0, 0

    def spec(self, data: dict[str, Any]) -> dict[str, Any]:
        image: ContainerImage = data["image"]
        return {
            "image_id": image.pk,
            "image": image.reference,
            "docker_host_id": image.docker_host_id,
            "command": data["command"],
            "environment": environment_seal(data["environment"]),
            "ports": data["ports"],
            "restart_policy": data["restart_policy"],
        }


class ContainerNetworkForm(forms.Form):
    """The network a container joins or leaves."""

    network = forms.ModelChoiceField(queryset=DockerNetwork.objects.none())

    def __init__(self, *args: Any, networks: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["network"].queryset = networks  # type: ignore[attr-defined]
