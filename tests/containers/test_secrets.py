"""TLS client keys of remote engines: sealed at rest, usable for a connection, never rendered."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from containers.choices import EngineJobAction
from containers.engines.services import engine_of
from containers.models import DockerHost
from containers.secrets import secret_open, secret_seal
from portal.models import Job
from tests.factories import DockerHostFactory

pytestmark = pytest.mark.django_db

SECRET_LINE = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC-portal-test-secret-line"
KEY = f"-----BEGIN PRIVATE KEY-----\n{SECRET_LINE}\n-----END PRIVATE KEY-----\n"
OTHER_SECRET_LINE = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-a-second-secret-line"
OTHER_KEY = f"-----BEGIN PRIVATE KEY-----\n{OTHER_SECRET_LINE}\n-----END PRIVATE KEY-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nMIIBpublic\n-----END CERTIFICATE-----\n"


@pytest.fixture(autouse=True)
def quiet(no_hypervisor, sent):
    """Saving an engine queues a probe; nothing may reach an engine or the broker here."""


def form_data(**changes) -> dict[str, str]:
    data = {
        "name": "remote-1",
        "base_url": "tcp://127.0.0.1:2376",
        "publish_address": "127.0.0.1",
        "accepts_new_containers": "on",
        "tls_ca_certificate": CERT,
        "tls_client_certificate": CERT,
        "tls_client_key": "",
        "_save": "Save",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_seal_and_open_round_trip():
    sealed = secret_seal(KEY)
    assert sealed != KEY
    assert SECRET_LINE not in sealed
    assert secret_open(sealed) == KEY
    assert secret_seal(KEY) != sealed, "every seal is fresh (random IV)"
    assert secret_seal("") == "" and secret_open("") == ""


def test_a_key_sealed_under_another_key_cannot_be_opened(settings):
    sealed = secret_seal(KEY)
    settings.PORTAL_SECRETS_KEY = Fernet.generate_key().decode()
    with pytest.raises(ValueError, match="enter it again"):
        secret_open(sealed)


def test_admin_add_seals_the_key_and_queues_a_probe(admin_client, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/containers/dockerhost/add/", form_data(tls_client_key=KEY))
    assert response.status_code == 302, response.content.decode()[-2000:]
    host = DockerHost.objects.get(name="remote-1")
    assert host.tls_client_key_sealed
    assert host.tls_client_key_sealed != KEY
    assert SECRET_LINE not in host.tls_client_key_sealed
    assert secret_open(host.tls_client_key_sealed).strip() == KEY.strip()
    assert host.uses_tls
    (job,) = Job.objects.filter(action=EngineJobAction.ENGINE_PROBE, target_id=str(host.pk))
    assert sent == [{"task": "containers.tasks.engine_operate", "args": (job.pk,), "task_id": str(job.celery_task_id)}]


def test_admin_pages_never_contain_the_key(admin_client):
    host = DockerHostFactory(name="remote-1", tls_client_certificate=CERT, tls_client_key_sealed=secret_seal(KEY))
    for url in (
        f"/admin/containers/dockerhost/{host.pk}/change/",
        "/admin/containers/dockerhost/",
        f"/admin/containers/dockerhost/{host.pk}/history/",
    ):
        page = admin_client.get(url).content.decode()
        assert SECRET_LINE not in page, url
        assert host.tls_client_key_sealed not in page, url
    page = admin_client.get(f"/admin/containers/dockerhost/{host.pk}/change/").content.decode()
    assert "stored (sealed, never shown)" in page


def test_admin_change_without_a_key_keeps_the_stored_one(admin_client):
    host = DockerHostFactory(name="remote-1", tls_client_certificate=CERT, tls_client_key_sealed=secret_seal(KEY))
    response = admin_client.post(
        f"/admin/containers/dockerhost/{host.pk}/change/", form_data(base_url="tcp://127.0.0.1:2377")
    )
    assert response.status_code == 302
    host.refresh_from_db()
    assert host.base_url == "tcp://127.0.0.1:2377"
    assert secret_open(host.tls_client_key_sealed).strip() == KEY.strip()


def test_admin_change_with_a_new_key_replaces_it(admin_client):
    host = DockerHostFactory(name="remote-1", tls_client_certificate=CERT, tls_client_key_sealed=secret_seal(KEY))
    admin_client.post(f"/admin/containers/dockerhost/{host.pk}/change/", form_data(tls_client_key=OTHER_KEY))
    host.refresh_from_db()
    assert secret_open(host.tls_client_key_sealed).strip() == OTHER_KEY.strip()


def test_admin_clear_removes_the_key(admin_client):
    host = DockerHostFactory(name="remote-1", tls_client_certificate=CERT, tls_client_key_sealed=secret_seal(KEY))
    response = admin_client.post(
        f"/admin/containers/dockerhost/{host.pk}/change/",
        form_data(clear_tls_client_key="on", base_url="ssh://portal@engine.example.org"),
    )
    assert response.status_code == 302
    host.refresh_from_db()
    assert host.tls_client_key_sealed == ""
    assert not host.uses_tls
    page = admin_client.get(f"/admin/containers/dockerhost/{host.pk}/change/").content.decode()
    assert "stored (sealed, never shown)" not in page


def test_clear_wins_over_a_key_typed_at_the_same_time(admin_client):
    host = DockerHostFactory(name="remote-1", tls_client_certificate=CERT, tls_client_key_sealed=secret_seal(KEY))
    admin_client.post(
        f"/admin/containers/dockerhost/{host.pk}/change/",
        form_data(tls_client_key=OTHER_KEY, clear_tls_client_key="on", base_url="ssh://portal@engine.example.org"),
    )
    host.refresh_from_db()
    assert host.tls_client_key_sealed == ""


def test_the_key_is_unsealed_only_for_the_connection_and_its_file_is_private_and_removed():
    host = DockerHostFactory(
        tls_ca_certificate=CERT, tls_client_certificate=CERT, tls_client_key_sealed=secret_seal(KEY)
    )
    engine = engine_of(host)
    assert engine.tls["client_key"] == KEY
    engine._tls_config()  # what the client does on first use; no connection is made here
    directory = Path(engine._tls_dir)
    key_file = directory / "client_key.pem"
    assert key_file.read_text() == KEY
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    engine.close()
    assert not directory.exists()


def test_a_form_error_does_not_echo_the_key(admin_client):
    response = admin_client.post(
        "/admin/containers/dockerhost/add/", form_data(tls_client_key=KEY, publish_address="not an address")
    )
    assert response.status_code == 200
    assert "Enter a valid IPv4 or IPv6 address." in response.content.decode()
    assert SECRET_LINE not in response.content.decode()


def test_clearing_the_key_of_a_tcp_engine_is_refused(admin_client):
    """Without a client key a tcp:// engine would be reached in the clear: the allowlist says no."""
    host = DockerHostFactory(
        name="remote-1", base_url="tcp://127.0.0.1:2376", tls_ca_certificate=CERT, tls_client_certificate=CERT,
        tls_client_key_sealed=secret_seal(KEY),
    )  # fmt: skip
    response = admin_client.post(
        f"/admin/containers/dockerhost/{host.pk}/change/", form_data(clear_tls_client_key="on")
    )
    assert response.status_code == 200
    assert "A tcp:// engine needs TLS" in response.content.decode()
    host.refresh_from_db()
    assert secret_open(host.tls_client_key_sealed) == KEY
