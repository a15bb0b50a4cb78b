"""Asking for a VM with SSH keys and user-data: only for images with cloud-init, only the asker's own keys,
the key texts copied into the request, and every bad input a clear error under its field."""

from __future__ import annotations

import pytest
from django.test import Client

from hypervisors.vms.forms import VMRequestForm
from portal.admin import spec_masked
from portal.api.serializers import RequestSerializer
from portal.models import ResourceRequest
from portal.ssh_keys import ssh_key_add
from tests.factories import ImageFactory, UserFactory
from tests.support.keys import public_line

pytestmark = pytest.mark.django_db

USER_DATA = "#cloud-config\nruncmd:\n  - echo hello\n"


@pytest.fixture
def seeded_image(image):
    image.cloud_init = True
    image.save()
    return image


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def key(member):
    return ssh_key_add(actor=member, name="laptop", public_key=public_line("ed25519"))


def test_keys_and_user_data_are_copied_into_the_spec(member, data, seeded_image, key):
    form = VMRequestForm({**data, "ssh_keys": [str(key.pk)], "user_data": USER_DATA}, user=member)
    assert form.is_valid(), form.errors
    spec = form.spec(form.cleaned_data)
    assert spec["ssh_keys"] == [key.public_key]
    assert spec["ssh_key_fingerprints"] == [key.fingerprint]
    assert spec["user_data"] == USER_DATA.strip()


def test_another_users_key_cannot_be_chosen(member, data, seeded_image):
    theirs = ssh_key_add(actor=UserFactory(username="mallory"), name="x", public_key=public_line("ecdsa"))
    form = VMRequestForm({**data, "ssh_keys": [str(theirs.pk)]}, user=member)
    assert not form.is_valid()
    assert set(form.errors) == {"ssh_keys"}
    assert str(theirs.pk) in form.errors["ssh_keys"][0]


@pytest.mark.parametrize(
    ("text", "words"),
    [("runcmd: [", "not valid YAML"), ("- a\n- b\n", "mapping"), ("a: '" + "x" * 17000 + "'", "16 KiB")],
)
def test_bad_user_data_is_an_error_on_its_field(member, data, seeded_image, text, words):
    form = VMRequestForm({**data, "user_data": text}, user=member)
    assert not form.is_valid()
    assert set(form.errors) == {"user_data"} and words in form.errors["user_data"][0]


def test_an_image_without_cloud_init_refuses_keys_and_user_data(member, data, seeded_image, key):
    plain = ImageFactory(name="plain", cloud_init=False)
    form = VMRequestForm(
        {**data, "image": str(plain.pk), "ssh_keys": [str(key.pk)], "user_data": USER_DATA}, user=member
    )
    assert not form.is_valid()
    assert set(form.errors) == {"ssh_keys", "user_data"}
    assert "plain does not understand cloud-init" in form.errors["ssh_keys"][0]
    # Without them the same ask is fine, and its spec says nothing of a seed.
    form = VMRequestForm({**data, "image": str(plain.pk)}, user=member)
    assert form.is_valid(), form.errors
    assert "ssh_keys" not in form.spec(form.cleaned_data)


def test_the_page_marks_images_with_cloud_init_and_the_fields_only_they_may_use(member, seeded_image):
    plain = ImageFactory(name="plain", cloud_init=False)
    page = logged_in(member).get("/vms/new/").content.decode()
    assert f'<option value="{seeded_image.pk}" data-cloud-init' in page
    assert f'<option value="{plain.pk}">' in page
    assert 'name="user_data"' in page and "data-cloud-init-only" in page
    assert "portal/first-boot.js" in page


def test_the_page_offers_only_the_users_keys_and_keeps_the_request_when_a_key_goes(member, data, seeded_image, key):
    ssh_key_add(actor=UserFactory(username="mallory"), name="mallorys-key", public_key=public_line("rsa"))
    client = logged_in(member)
    page = client.get("/vms/new/").content.decode()
    assert "laptop" in page and "mallorys-key" not in page
    response = client.post("/vms/new/", {**data, "ssh_keys": [str(key.pk)], "user_data": USER_DATA})
    assert response.status_code == 302
    line = key.public_key
    client.post(f"/profile/ssh-keys/{key.pk}/delete/")
    assert ResourceRequest.objects.get(name="web").spec["ssh_keys"] == [line]


def test_bad_user_data_on_the_page_is_shown_where_it_was_typed(member, data, seeded_image):
    response = logged_in(member).post("/vms/new/", {**data, "user_data": "- not\n- a mapping\n"})
    assert response.status_code == 400
    assert 'id="errors-user_data"' in response.content.decode()
    assert "must be a cloud-config mapping" in response.content.decode()
    assert not ResourceRequest.objects.exists()


def test_user_data_is_not_shown_back_in_admin_or_the_api(member, data, seeded_image, staff):
    secret = "#cloud-config\nchpasswd:\n  list: |\n    root:hunter2\n"
    assert logged_in(member).post("/vms/new/", {**data, "user_data": secret}).status_code == 302
    request = ResourceRequest.objects.get(name="web")
    assert request.spec["user_data"] == secret.strip()
    assert "hunter2" not in str(spec_masked(request.spec))
    assert "hunter2" not in str(RequestSerializer(request).data)
    admin_page = logged_in(staff).get(f"/admin/portal/resourcerequest/{request.pk}/change/").content.decode()
    assert "hunter2" not in admin_page and "bytes" in admin_page
