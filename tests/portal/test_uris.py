"""The address allowlists: host URIs and engine URLs that would run code or reach inside are refused."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from containers.models import DockerHost
from hypervisors.models import Host
from portal.uris import validate_docker_url, validate_libvirt_uri

CERT = "-----BEGIN CERTIFICATE-----\nMIIBpublic\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEsecret\n-----END PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    "uri",
    [
        "qemu:///system",
        "qemu:///session",
        "qemu+ssh://portal@kvm1.example.org/system",
        "qemu+ssh://portal@kvm1.example.org:2222/system?sshauth=privkey",
        "qemu+tls://kvm2.example.org/system",
    ],
)
def test_libvirt_uris_in_the_allowlist_pass(uri):
    validate_libvirt_uri(uri)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("qemu+ext:///system?command=/bin/sh", "transport qemu+ext is not allowed"),
        ("qemu+unix:///system?socket=/run/other.sock", "transport qemu+unix is not allowed"),
        ("qemu+ssh://u@kvm1/system?command=/tmp/evil", "parameters not allowed: command"),
        ("qemu+ssh://u@kvm1/system?socket=/run/x.sock", "parameters not allowed: socket"),
        ("qemu+tls://kvm1/system?no_verify=1", "parameters not allowed: no_verify"),
        ("qemu+ssh://u@kvm1/system?netcat=/tmp/nc&keyfile=/etc/shadow", "parameters not allowed: keyfile, netcat"),
        ("qemu+ssh://u@169.254.169.254/system", "link-local"),
        ("qemu+ssh://u@[fe80::1]/system", "link-local"),
        ("qemu+ssh://kvm1/", "ends in /system or /session"),
        ("qemu+ssh:///system", "names the remote host"),
        ("qemu+ssh://u:secret@kvm1/system", "Passwords do not belong"),
        ("qemu://kvm1/system", "qemu:///system or qemu:///session"),
        ("qemu:///embed?root=/tmp", "qemu:///system or qemu:///session"),
        ("xen:///system", "transport xen is not allowed"),
        ("/bin/sh", "transport (none) is not allowed"),
    ],
)
def test_libvirt_uris_that_run_code_or_reach_inside_are_refused(uri, message):
    with pytest.raises(ValidationError) as refused:
        validate_libvirt_uri(uri)
    assert message in " ".join(refused.value.messages)


def test_the_test_driver_needs_its_setting(settings):
    settings.PORTAL_ALLOW_TEST_URIS = False
    with pytest.raises(ValidationError, match="for tests only"):
        validate_libvirt_uri("test:///default")
    settings.PORTAL_ALLOW_TEST_URIS = True
    validate_libvirt_uri("test:///default")


def test_host_uri_field_carries_the_allowlist(db):
    host = Host(name="evil", uri="qemu+ext:///system?command=/bin/sh")
    with pytest.raises(ValidationError) as refused:
        host.full_clean()
    assert "uri" in refused.value.message_dict


@pytest.mark.usefixtures("sent")
def test_admin_refuses_a_host_uri_with_a_command(admin_client):
    response = admin_client.post(
        "/admin/hypervisors/host/add/",
        {
            "name": "evil", "uri": "qemu+ssh://root@kvm1/system?command=/usr/bin/touch", "accepts_new_vms": "on",
            "storage_pool": "default", "storage_path": "/var/lib/libvirt/images", "network": "default",
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert "URI parameters not allowed: command" in response.content.decode()
    assert not Host.objects.filter(name="evil").exists()


# --- Docker engines ---


@pytest.mark.parametrize(
    ("url", "local", "tls", "ca"),
    [
        ("unix:///var/run/docker.sock", True, False, False),
        ("ssh://portal@engine.example.org", False, False, False),
        ("ssh://portal@engine.example.org:2222", False, False, False),
        ("tcp://engine.example.org:2376", False, True, True),
    ],
)
def test_engine_urls_in_the_allowlist_pass(url, local, tls, ca):
    validate_docker_url(url, is_local=local, uses_tls=tls, has_ca=ca)


@pytest.mark.parametrize(
    ("url", "local", "tls", "ca", "message"),
    [
        ("unix:///var/run/docker.sock", False, False, False, "only for the engine marked as local"),
        ("tcp://engine.example.org:2375", False, False, False, "needs TLS"),
        ("tcp://engine.example.org:2376", False, True, False, "needs TLS"),
        ("tcp://169.254.169.254:2376", False, True, True, "link-local"),
        ("tcp://metadata.google.internal:2376", False, True, True, "metadata service"),
        ("ssh://u@[fe80::1]", False, False, False, "link-local"),
        ("tcp://0.0.0.0:2376", False, True, True, "unspecified"),
        ("http://engine.example.org:2375", False, True, True, "transport http is not allowed"),
        ("npipe:////./pipe/docker_engine", True, False, False, "transport npipe is not allowed"),
        ("ssh://u@engine.example.org?socket=/x", False, False, False, "no ?parameters"),
        ("ssh://", False, False, False, "names the engine's host"),
    ],
)
def test_engine_urls_outside_the_allowlist_are_refused(url, local, tls, ca, message):
    with pytest.raises(ValidationError) as refused:
        validate_docker_url(url, is_local=local, uses_tls=tls, has_ca=ca)
    assert message in " ".join(refused.value.messages)


def test_engine_model_refuses_a_socket_unless_marked_local(db):
    engine = DockerHost(name="sock", base_url="unix:///var/run/docker.sock")
    with pytest.raises(ValidationError) as refused:
        engine.full_clean()
    assert "only for the engine marked as local" in " ".join(refused.value.message_dict["base_url"])
    engine.is_local = True
    engine.full_clean()


@pytest.mark.usefixtures("sent")
def test_admin_refuses_a_plain_tcp_engine(admin_client):
    response = admin_client.post(
        "/admin/containers/dockerhost/add/",
        {"name": "open", "base_url": "tcp://10.0.0.5:2375", "publish_address": "127.0.0.1", "_save": "Save"},
    )
    assert response.status_code == 200
    assert "A tcp:// engine needs TLS" in response.content.decode()
    assert not DockerHost.objects.filter(name="open").exists()


@pytest.mark.usefixtures("sent")
def test_admin_refuses_tls_without_a_ca_certificate(admin_client):
    response = admin_client.post(
        "/admin/containers/dockerhost/add/",
        {
            "name": "unverified", "base_url": "tcp://engine.example.org:2376", "publish_address": "127.0.0.1",
            "tls_client_certificate": CERT, "tls_client_key": KEY,
            "_save": "Save",
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert "A tcp:// engine needs TLS" in response.content.decode()
    assert not DockerHost.objects.filter(name="unverified").exists()
