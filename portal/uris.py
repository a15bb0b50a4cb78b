"""Allowlists for the addresses staff type in: libvirt host URIs and Docker engine URLs.

A worker opens whatever a host row or an engine row says, so these addresses are
code paths: ``qemu+ext:///system?command=/bin/sh`` runs a program on the worker,
``?socket=`` points libvirt at any local socket, ``no_verify`` turns host key
checks off, and a ``tcp://`` engine on a link-local address reaches a cloud's
metadata service. Only the forms that the portal really uses pass.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

#: libvirt transports the portal opens; ``test`` only where ``PORTAL_ALLOW_TEST_URIS`` is on.
LIBVIRT_REMOTE_SCHEMES = frozenset({"qemu+ssh", "qemu+tls"})
#: The libvirt daemon instances a ``qemu`` URI may name.
LIBVIRT_PATHS = frozenset({"/system", "/session"})
#: URI parameters that change nothing but how the connection is made (see libvirt's remote URI docs).
#: ``command``, ``socket``, ``netcat``, ``keyfile``, ``pkipath``, ``no_verify``, ``known_hosts`` and the rest
#: name local programs or files, or turn checks off: refused.
LIBVIRT_SAFE_PARAMETERS = frozenset({"mode", "proxy", "sshauth", "no_tty", "tls_priority"})
#: Host names of cloud metadata services, refused like their link-local addresses.
METADATA_NAMES = frozenset({"metadata", "metadata.google.internal", "instance-data", "instance-data.ec2.internal"})


def _refuse_internal_address(host: str | None, what: str) -> None:
    """Refuse link-local, unspecified and metadata-service addresses (the rest of the network is the admin's call)."""
    if not host:
        return
    if host.lower().rstrip(".") in METADATA_NAMES:
        raise ValidationError(f"{what} may not point at a cloud metadata service ({host}).")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    if address.is_link_local or address.is_unspecified or address.is_multicast:
        raise ValidationError(f"{what} may not use the link-local, unspecified or multicast address {host}.")


def validate_libvirt_uri(value: str) -> None:
    """Accept ``qemu:///system``, ``qemu:///session``, ``qemu+ssh://…``, ``qemu+tls://…``; ``test:///…`` in tests."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as error:
        raise ValidationError(f"Not a URI: {error}.") from error
    scheme = parts.scheme.lower()
    if scheme == "test":
        if not settings.PORTAL_ALLOW_TEST_URIS:
            raise ValidationError("libvirt's test driver (test:///) is for tests only; set PORTAL_ALLOW_TEST_URIS.")
        if parts.netloc or not parts.path.startswith("/"):
            raise ValidationError("A test URI looks like test:///default.")
    elif scheme == "qemu":
        if parts.netloc or parts.path not in LIBVIRT_PATHS:
            raise ValidationError("A local URI is qemu:///system or qemu:///session.")
    elif scheme in LIBVIRT_REMOTE_SCHEMES:
        if not host:
            raise ValidationError(f"A {scheme} URI names the remote host: {scheme}://user@host/system.")
        if parts.path not in LIBVIRT_PATHS:
            raise ValidationError(f"A remote URI ends in /system or /session: {scheme}://user@host/system.")
        if parts.password is not None:
            raise ValidationError("Passwords do not belong in a URI; use SSH keys or TLS certificates.")
        _refuse_internal_address(host, "A host URI")
    else:
        raise ValidationError(
            f"The transport {parts.scheme or '(none)'} is not allowed: use qemu:///system, qemu:///session, "
            "qemu+ssh://user@host/system or qemu+tls://host/system."
        )
    if parts.fragment:
        raise ValidationError("A host URI has no #fragment.")
    refused = sorted({name for name, _ in parse_qsl(parts.query, keep_blank_values=True)} - LIBVIRT_SAFE_PARAMETERS)
    if refused or (parts.query and not parse_qsl(parts.query, keep_blank_values=True)):
        names = ", ".join(refused) or parts.query
        raise ValidationError(f"URI parameters not allowed: {names} (they name local programs, sockets or files).")


def validate_docker_url(base_url: str, *, is_local: bool, uses_tls: bool, has_ca: bool) -> None:
    """Accept ``unix://`` for an engine marked local, ``ssh://user@host`` and ``tcp://`` with verified TLS."""
    try:
        parts = urlsplit(base_url)
        host = parts.hostname
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as error:
        raise ValidationError(f"Not a URL: {error}.") from error
    scheme = parts.scheme.lower()
    if parts.query or parts.fragment:
        raise ValidationError("An engine URL has no ?parameters or #fragment.")
    if scheme == "unix":
        if not is_local:
            raise ValidationError("A unix:// socket is allowed only for the engine marked as local to the portal.")
        if parts.netloc or not parts.path.startswith("/"):
            raise ValidationError("A local socket looks like unix:///var/run/docker.sock.")
        return
    if scheme not in ("ssh", "tcp"):
        raise ValidationError(
            f"The transport {parts.scheme or '(none)'} is not allowed: use ssh://user@host or tcp://host:2376 "
            "with TLS (or unix:// for the local engine)."
        )
    if not host:
        raise ValidationError(f"An {scheme}:// URL names the engine's host.")
    if parts.password is not None:
        raise ValidationError("Passwords do not belong in a URL; use SSH keys or TLS certificates.")
    if parts.path not in ("", "/"):
        raise ValidationError("An engine URL has no path.")
    _refuse_internal_address(host, "An engine URL")
    if scheme == "tcp" and not (uses_tls and has_ca):
        raise ValidationError(
            "A tcp:// engine needs TLS: a client certificate and key, and the CA certificate that signed the "
            "engine's (an engine whose certificate is not verified could be anyone)."
        )
