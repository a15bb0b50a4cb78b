"""The allowlist: how a portal container spec becomes Docker create options, and what is never allowed.

Only keys built here reach the engine; nothing a user typed becomes a keyword
argument. :func:`assert_safe` is a second line that every create and update
passes through, so a future change cannot let a dangerous option slip by.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from containers.drivers.base import ContainerSpec, UnsafeOptions

#: Capabilities a container keeps; every other one is dropped (Docker's default set
#: without NET_RAW, MKNOD, AUDIT_WRITE, SETFCAP and SYS_CHROOT).
SAFE_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "NET_BIND_SERVICE")
#: Security options every container gets, and the only ones it may have.
SECURITY_OPTIONS = ("no-new-privileges",)
#: Most processes one container may run; stops fork bombs from taking the engine's host down.
PIDS_LIMIT = 256
#: The engine keeps a container's output in at most this many files of this size, so a chatty
#: container cannot fill the engine's disk.
LOG_OPTIONS = {"max-size": "10m", "max-file": "3"}
LOG_CONFIG: dict[str, Any] = {"type": "json-file", "config": LOG_OPTIONS}

#: Network modes of the engine itself: the shared default bridge (every team's containers on one
#: segment), the host's own stack, and the engine's aliases for them. A container gets none of them.
ENGINE_NETWORK_MODES = frozenset({"bridge", "default", "host", "none"})
#: Keys the create call may carry, and nothing else.
ALLOWED_CREATE_KEYS = frozenset(
    {
        "image", "name", "command", "environment", "ports", "nano_cpus", "mem_limit", "memswap_limit",
        "restart_policy", "pids_limit", "cap_drop", "cap_add", "security_opt", "privileged", "labels",
        "network_mode", "detach", "init", "log_config",
    }
)  # fmt: skip


def nano_cpus(cpus: Decimal) -> int:
    """CPUs as the engine counts them (billionths of a CPU)."""
    return int(cpus * Decimal(1_000_000_000))


def port_bindings(spec: ContainerSpec) -> dict[str, list[tuple[str, int]]]:
    """Published ports in the SDK's form: each container port with every host port bound to it."""
    bindings: dict[str, list[tuple[str, int]]] = {}
    for port in spec.ports:
        bindings.setdefault(f"{port.container_port}/{port.protocol}", []).append((spec.publish_address, port.host_port))
    return bindings


def create_options(spec: ContainerSpec) -> dict[str, Any]:
    """Docker ``containers.create`` keyword arguments for a spec: limits applied, privileges dropped.

    The container starts on the spec's user-defined network (its team's own):
    Docker keeps separate bridge networks apart, while its default ``bridge``
    would put every team's containers on one segment.
    """
    if not spec.network:
        raise UnsafeOptions("A container starts on its team's own network; none was given.")
    memory = f"{spec.memory_mib}m"
    restart: dict[str, Any] = {"Name": spec.restart_policy}
    if spec.restart_policy == "on-failure":
        restart["MaximumRetryCount"] = 5
    options: dict[str, Any] = {
        "image": spec.image,
        "name": spec.name,
        "command": list(spec.command) or None,
        "environment": dict(spec.environment),
        "ports": port_bindings(spec),
        "nano_cpus": nano_cpus(spec.cpus),
        "mem_limit": memory,
        "memswap_limit": memory,
        "restart_policy": restart,
        "pids_limit": PIDS_LIMIT,
        "cap_drop": ["ALL"],
        "cap_add": list(SAFE_CAPABILITIES),
        "security_opt": list(SECURITY_OPTIONS),
        "privileged": False,
        "network_mode": spec.network,
        "labels": dict(spec.labels),
        "init": True,
        "detach": True,
        "log_config": {"type": "json-file", "config": dict(LOG_OPTIONS)},
    }
    assert_safe(options, ALLOWED_CREATE_KEYS)
    return options


def assert_safe(options: dict[str, Any], allowed: frozenset[str]) -> None:
    """Raise ``UnsafeOptions`` for any key outside the allowlist or any value that widens access."""
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise UnsafeOptions(f"Options the portal never passes to the engine: {', '.join(unknown)}.")
    if options.get("privileged"):
        raise UnsafeOptions("Privileged containers are not allowed.")
    if "network_mode" in options and not user_defined_network(options["network_mode"]):
        raise UnsafeOptions(
            "Containers may only use their team's own bridge network, never the engine's shared bridge, "
            "the host's network or another container's."
        )
    if "log_config" in options and options["log_config"] != LOG_CONFIG:
        raise UnsafeOptions("Container output must be kept by json-file with the portal's size limits.")
    if options.get("cap_add") and not set(options["cap_add"]) <= set(SAFE_CAPABILITIES):
        extra = sorted(set(options["cap_add"]) - set(SAFE_CAPABILITIES))
        raise UnsafeOptions(f"Capabilities not allowed: {', '.join(extra)}.")
    if "cap_drop" in options and options["cap_drop"] != ["ALL"]:
        raise UnsafeOptions("Containers must drop all capabilities but the safe default set.")
    if "security_opt" in options and options["security_opt"] != list(SECURITY_OPTIONS):
        raise UnsafeOptions(
            f"Security options must be exactly {', '.join(SECURITY_OPTIONS)}: no seccomp, AppArmor or SELinux opt-outs."
        )


def user_defined_network(mode: object) -> bool:
    """Whether a network mode names a user-defined network (not the engine's own modes, nor ``container:<id>``)."""
    return isinstance(mode, str) and bool(mode) and mode not in ENGINE_NETWORK_MODES and ":" not in mode
