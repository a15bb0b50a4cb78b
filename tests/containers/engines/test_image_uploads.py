"""Uploaded image tars: a size limit with a clear error, and no file left behind without a job."""

from __future__ import annotations

import html

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from containers.engines import images
from containers.engines.images import image_load_request, upload_dir
from portal.models import Job
from tests.factories import DockerHostFactory

pytestmark = pytest.mark.django_db

LOAD_URL = "/admin/containers/containerimage/load/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_the_limit_defaults_to_2_gib():
    from django.conf import settings

    assert settings.PORTAL_IMAGE_UPLOAD_MAX_BYTES == 2 * 1024**3


def test_admin_form_refuses_a_tar_over_the_limit(client, staff, no_hypervisor, sent, settings):
    settings.PORTAL_IMAGE_UPLOAD_MAX_BYTES = 1024
    client.force_login(staff)
    response = client.post(
        LOAD_URL,
        {"docker_host": DockerHostFactory().pk, "mode": "load", "archive": SimpleUploadedFile("big.tar", b"x" * 2048)},
    )
    assert response.status_code == 200
    assert "The tar is 2.0\xa0KB; uploads may be at most 1.0\xa0KB." in html.unescape(response.content.decode())
    assert not Job.objects.exists()
    assert list(upload_dir().iterdir()) == []


def test_the_service_refuses_it_too(staff, sent, settings):
    settings.PORTAL_IMAGE_UPLOAD_MAX_BYTES = 1024
    with pytest.raises(ValidationError, match="at most"):
        image_load_request(
            actor=staff, docker_host=DockerHostFactory(), upload=SimpleUploadedFile("big.tar", b"x" * 2048),
            mode="load", reference="", teams=[],
        )  # fmt: skip
    assert list(upload_dir().iterdir()) == []


def test_the_stored_file_is_removed_when_the_transaction_rolls_back(staff, sent, monkeypatch):
    def broken_audit(**kwargs):
        raise RuntimeError("the database said no")

    monkeypatch.setattr(images, "audit_record", broken_audit)
    with pytest.raises(RuntimeError):
        image_load_request(
            actor=staff, docker_host=DockerHostFactory(), upload=SimpleUploadedFile("ok.tar", b"x" * 10),
            mode="load", reference="", teams=[],
        )  # fmt: skip
    assert list(upload_dir().iterdir()) == [], "no tar waits for a job that does not exist"
    assert not Job.objects.exists()
