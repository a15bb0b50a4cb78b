"""The create-option allowlist: what a container spec becomes, and what assert_safe never lets through."""

from __future__ import annotations

from decimal import Decimal

import pytest

from containers.containers.forms import parse_ports
from containers.drivers import ContainerSpec, PortMapping, UnsafeOptions
from containers.drivers.options import (
    ALLOWED_CREATE_KEYS,
    PIDS_LIMIT,
    SAFE_CAPABILITIES,
    assert_safe,
    create_options,
    nano_cpus,
)


def spec(**changes) -> ContainerSpec:
    values = {
        "name": "blue.web",
        "image": "portal/busybox:latest",
        "cpus": Decimal("0.5"),
        "memory_mib": 64,
        "command": ["httpd", "-f", "-p", "8080"],
        "environment": {"GREETING": "hello"},
        "ports": [PortMapping(container_port=8080, host_port=18080)],
        "labels": {"portal.team": "blue", "portal.name": "web"},
        "network": "blue.team_local",
    }
    return ContainerSpec(**{**values, **changes})


def test_create_options_are_exactly_the_allowlist():
    options = create_options(spec())
    assert set(options) == ALLOWED_CREATE_KEYS


def test_create_options_apply_limits_and_drop_privileges():
    options = create_options(spec())
    assert options["image"] == "portal/busybox:latest"
    assert options["name"] == "blue.web"
    assert options["command"] == ["httpd", "-f", "-p", "8080"]
    assert options["environment"] == {"GREETING": "hello"}
    assert options["ports"] == {"8080/tcp": [("127.0.0.1", 18080)]}
    assert options["nano_cpus"] == 500_000_000
    assert options["mem_limit"] == options["memswap_limit"] == "64m", "no swap beyond the memory limit"
    assert options["pids_limit"] == PIDS_LIMIT
    assert options["cap_drop"] == ["ALL"]
    assert set(options["cap_add"]) <= set(SAFE_CAPABILITIES)
    assert not {"SYS_ADMIN", "NET_ADMIN", "NET_RAW", "SYS_PTRACE", "MKNOD"} & set(options["cap_add"])
    assert options["security_opt"] == ["no-new-privileges"]
    assert options["privileged"] is False
    assert options["network_mode"] == "blue.team_local"
    assert options["restart_policy"] == {"Name": "no"}
    assert options["labels"] == {"portal.team": "blue", "portal.name": "web"}
    assert options["detach"] is True


def test_publish_address_and_udp_ports():
    options = create_options(
        spec(
            publish_address="10.0.0.5",
            ports=[PortMapping(53, 5353, "udp"), PortMapping(53, 5353, "tcp")],
        )
    )
    assert options["ports"] == {"53/udp": [("10.0.0.5", 5353)], "53/tcp": [("10.0.0.5", 5353)]}


def test_no_command_means_the_images_own():
    assert create_options(spec(command=[]))["command"] is None


def test_on_failure_restart_is_bounded():
    assert create_options(spec(restart_policy="on-failure"))["restart_policy"] == {
        "Name": "on-failure",
        "MaximumRetryCount": 5,
    }


@pytest.mark.parametrize(("cpus", "nano"), [("0.01", 10_000_000), ("0.5", 500_000_000), ("2", 2_000_000_000)])
def test_nano_cpus(cpus, nano):
    assert nano_cpus(Decimal(cpus)) == nano


def test_what_a_user_typed_stays_data_never_becomes_an_option():
    """Names that look like options stay environment variables, labels or arguments."""
    options = create_options(
        spec(
            environment={"privileged": "true", "network_mode": "host", "volumes": "/:/host"},
            command=["--privileged", "--volume=/:/host"],
            labels={"cap_add": "SYS_ADMIN"},
        )
    )
    assert set(options) == ALLOWED_CREATE_KEYS
    assert options["privileged"] is False
    assert options["network_mode"] == "blue.team_local"
    assert options["environment"] == {"privileged": "true", "network_mode": "host", "volumes": "/:/host"}


# --- assert_safe: the second line ---


def safe() -> dict:
    return create_options(spec())


def test_safe_options_pass():
    assert_safe(safe(), ALLOWED_CREATE_KEYS)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"privileged": True}, "Privileged containers are not allowed."),
        ({"privileged": 1}, "Privileged containers are not allowed."),
        ({"network_mode": "host"}, "only use their team's own bridge network"),
        ({"network_mode": "container:abc123"}, "only use their team's own bridge network"),
        ({"network_mode": "container:blue.web"}, "only use their team's own bridge network"),
        ({"cap_add": ["SYS_ADMIN"]}, "Capabilities not allowed: SYS_ADMIN."),
        ({"cap_add": [*SAFE_CAPABILITIES, "NET_ADMIN"]}, "Capabilities not allowed: NET_ADMIN."),
        ({"cap_add": ["NET_ADMIN", "SYS_ADMIN", "CHOWN"]}, "Capabilities not allowed: NET_ADMIN, SYS_ADMIN."),
        ({"cap_drop": []}, "must drop all capabilities"),
        ({"cap_drop": ["NET_RAW"]}, "must drop all capabilities"),
        ({"cap_drop": ["ALL", "NET_RAW"]}, "must drop all capabilities"),
        ({"cap_drop": None}, "must drop all capabilities"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_widening_values_are_refused(changes, message):
    with pytest.raises(UnsafeOptions, match=message.replace(".", r"\.")):
        assert_safe({**safe(), **changes}, ALLOWED_CREATE_KEYS)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("volumes", {"/": {"bind": "/host", "mode": "rw"}}),
        ("binds", ["/:/host"]),
        ("mounts", ["/:/host"]),
        ("devices", ["/dev/sda:/dev/sda"]),
        ("pid_mode", "host"),
        ("ipc_mode", "host"),
        ("userns_mode", "host"),
        ("uts_mode", "host"),
        ("volumes_from", ["other"]),
        ("sysctls", {"net.ipv4.ip_forward": "1"}),
        ("device_cgroup_rules", ["a *:* rwm"]),
    ],
)
def test_unknown_keys_are_refused_by_name(key, value):
    with pytest.raises(UnsafeOptions) as refused:
        assert_safe({**safe(), key: value}, ALLOWED_CREATE_KEYS)
    assert str(refused.value) == f"Options the portal never passes to the engine: {key}."


def test_several_unknown_keys_are_all_named():
    with pytest.raises(UnsafeOptions) as refused:
        assert_safe({**safe(), "volumes": {}, "pid_mode": "host", "devices": []}, ALLOWED_CREATE_KEYS)
    assert str(refused.value) == "Options the portal never passes to the engine: devices, pid_mode, volumes."


def test_unknown_keys_are_refused_before_their_values_are_looked_at():
    with pytest.raises(UnsafeOptions, match="never passes to the engine: volumes"):
        assert_safe({**safe(), "privileged": True, "volumes": {}}, ALLOWED_CREATE_KEYS)


def test_a_smaller_allowlist_is_obeyed():
    """An update call passes its own, smaller allowlist: create-only keys are refused there."""
    with pytest.raises(UnsafeOptions, match="never passes to the engine: image, name"):
        assert_safe({"image": "x", "name": "y", "nano_cpus": 1}, frozenset({"nano_cpus"}))


@pytest.mark.parametrize(
    "security_opt", [["seccomp=unconfined"], ["apparmor=unconfined"], ["label=disable"], []], ids=str
)
def test_security_opt_cannot_loosen_confinement(security_opt):
    with pytest.raises(UnsafeOptions):
        assert_safe({**safe(), "security_opt": security_opt}, ALLOWED_CREATE_KEYS)


def test_every_published_port_reaches_the_engine():
    """Two host ports for one container port (8080:80 and 8081:80) both get bound."""
    ports = parse_ports("8080:80\n8081:80\n5353:53/udp")
    options = create_options(
        spec(ports=[PortMapping(p["container_port"], p["host_port"], p["protocol"]) for p in ports])
    )
    assert options["ports"] == {
        "80/tcp": [("127.0.0.1", 8080), ("127.0.0.1", 8081)],
        "53/udp": [("127.0.0.1", 5353)],
    }
