"""Loading images from uploaded tars: a root filesystem (import) or a ``docker save`` tar (load)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from containers.choices import EngineJobAction
from containers.engines.images import image_load, image_load_request, upload_dir
from containers.models import ContainerImage
from portal.choices import JobState
from portal.models import Job
from tests.factories import DockerHostFactory, TeamFactory, UserFactory
from tests.support import docker_engine as eng

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def references() -> Iterator[list[str]]:
    """Image references a test puts on the engine; removed afterwards."""
    made: list[str] = []
    try:
        yield made
    finally:
        for reference in made:
            eng.image_remove(reference)


def uploads() -> list:
    return sorted(upload_dir().iterdir())


@pytest.mark.integration
def test_import_a_root_filesystem_tar(engine_team, local_engine, staff, sent, references):
    reference = f"portal-test-{engine_team.slug}/rootfs:v1"
    references.append(reference)
    other = TeamFactory(name=f"o{engine_team.slug}", slug=f"o{engine_team.slug}")
    upload = SimpleUploadedFile("rootfs.tar", eng.rootfs_tar(), content_type="application/x-tar")

    job = image_load_request(
        actor=staff, docker_host=local_engine, upload=upload, mode="import", reference=reference,
        teams=[engine_team, other],
    )  # fmt: skip
    assert job.action == EngineJobAction.IMAGE_LOAD
    stored = uploads()
    assert len(stored) == 1
    assert stored[0].stat().st_size == upload.size

    image_load(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    assert f"Loaded {reference}" in job.log[-1]["message"]
    row = ContainerImage.objects.get(docker_host=local_engine, reference=reference)
    assert row.present
    assert row.image_id.startswith("sha256:")
    assert row.size_bytes and row.size_bytes > 0
    assert set(row.offered_to.all()) == {engine_team, other}
    assert uploads() == [], "the upload is deleted once loaded"

    # the imported root filesystem really runs
    client = eng.docker_client()
    try:
        output = client.containers.run(
            reference, ["/bin/cat", "/var/www/index.html"], name=f"{engine_team.slug}.probe", remove=True,
            network_mode="none",
        )  # fmt: skip
    finally:
        client.close()
    assert eng.INDEX_TEXT in output.decode()


@pytest.mark.integration
def test_load_a_docker_save_tar(engine_team, local_engine, staff, sent, references):
    reference = f"portal-test-{engine_team.slug}/saved:v2"
    references.append(reference)
    upload = SimpleUploadedFile("saved.tar", eng.saved_image_tar(reference))
    client = eng.docker_client()
    try:
        assert not client.images.list(name=reference), "the tag exists only inside the tar"
    finally:
        client.close()

    job = image_load_request(
        actor=staff, docker_host=local_engine, upload=upload, mode="load", reference="", teams=[engine_team]
    )
    image_load(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    row = ContainerImage.objects.get(docker_host=local_engine, reference=reference)
    assert row.present
    assert list(row.offered_to.all()) == [engine_team]
    assert uploads() == []


@pytest.mark.integration
def test_a_broken_tar_fails_the_job_and_is_deleted(engine_team, local_engine, staff, sent):
    upload = SimpleUploadedFile("broken.tar", b"this is not a tar at all" * 100)
    job = image_load_request(
        actor=staff, docker_host=local_engine, upload=upload, mode="load", reference="", teams=[engine_team]
    )
    image_load(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error
    assert uploads() == []
    assert not ContainerImage.objects.filter(docker_host=local_engine).exists()


def test_a_finished_load_job_delivered_again_does_nothing(staff, sent):
    docker_host = DockerHostFactory()
    job = image_load_request(
        actor=staff, docker_host=docker_host, upload=SimpleUploadedFile("x.tar", b"x"), mode="load", reference="",
        teams=[],
    )  # fmt: skip
    Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED)
    image_load(job_id=job.pk)
    assert Job.objects.get(pk=job.pk).state == JobState.SUCCEEDED
    assert len(uploads()) == 1, "an already finished job touches nothing"


def test_unreachable_engine_fails_the_job_and_deletes_the_upload(staff, sent):
    docker_host = DockerHostFactory(base_url="unix:///nonexistent/docker.sock")
    job = image_load_request(
        actor=staff, docker_host=docker_host, upload=SimpleUploadedFile("x.tar", b"x"), mode="load", reference="",
        teams=[],
    )  # fmt: skip
    image_load(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert uploads() == []


@pytest.mark.parametrize("who", ["member", "plain_staff", "anonymous"])
def test_only_portal_administrators_may_upload(who, member, sent):
    from django.contrib.auth.models import AnonymousUser

    actor = {
        "member": member,
        "plain_staff": UserFactory(username="plainstaff", is_staff=True),
        "anonymous": AnonymousUser(),
    }[who]
    with pytest.raises(PermissionDenied):
        image_load_request(
            actor=actor, docker_host=DockerHostFactory(), upload=SimpleUploadedFile("x.tar", b"x"), mode="load",
            reference="", teams=[],
        )  # fmt: skip
    assert uploads() == []
    assert not Job.objects.exists()
    assert sent == []


# --- the admin page ---

LOAD_URL = "/admin/containers/containerimage/load/"


def test_admin_upload_page_queues_the_job(client, staff, team, no_hypervisor, sent, django_capture_on_commit_callbacks):
    docker_host = DockerHostFactory(name="engine-1")
    client.force_login(staff)
    assert client.get(LOAD_URL).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            LOAD_URL,
            {
                "docker_host": docker_host.pk,
                "mode": "import",
                "reference": "portal-test/uploaded:v1",
                "offered_to": [team.pk],
                "archive": SimpleUploadedFile("rootfs.tar", b"tar bytes"),
            },
        )
    job = Job.objects.get(action=EngineJobAction.IMAGE_LOAD)
    assert response.status_code == 302
    assert response.url == f"/admin/portal/job/{job.pk}/change/"
    assert job.state == JobState.QUEUED
    assert job.params["mode"] == "import"
    assert job.params["reference"] == "portal-test/uploaded:v1"
    assert job.params["team_ids"] == [team.pk]
    assert job.requested_by == staff
    assert sent == [{"task": "containers.tasks.image_load", "args": (job.pk,), "task_id": str(job.celery_task_id)}]
    (stored,) = uploads()
    assert stored.read_bytes() == b"tar bytes"
    assert str(stored) == job.params["path"]
    assert not ContainerImage.objects.exists(), "the page itself loads nothing"


def test_admin_import_needs_a_reference(client, staff, no_hypervisor, sent):
    client.force_login(staff)
    response = client.post(
        LOAD_URL,
        {"docker_host": DockerHostFactory().pk, "mode": "import", "reference": "",
         "archive": SimpleUploadedFile("rootfs.tar", b"x")},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Importing a root filesystem needs a repository:tag name." in response.content.decode()
    assert not Job.objects.exists()
    assert uploads() == []


@pytest.mark.parametrize("reference", ["UPPER/case:1", "a b:c", "x:y:z", "../../etc:1", "-lead:1"])
def test_admin_refuses_bad_references(client, staff, no_hypervisor, sent, reference):
    client.force_login(staff)
    response = client.post(
        LOAD_URL,
        {"docker_host": DockerHostFactory().pk, "mode": "import", "reference": reference,
         "archive": SimpleUploadedFile("rootfs.tar", b"x")},
    )  # fmt: skip
    assert response.status_code == 200
    assert not Job.objects.exists()


def test_staff_who_does_not_decide_gets_403(client, no_hypervisor, sent):
    staff = UserFactory(username="helpdesk", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_containerimage", "change_containerimage"])
    )
    client.force_login(staff)
    assert client.get("/admin/containers/containerimage/").status_code == 200
    assert client.get(LOAD_URL).status_code == 403
    response = client.post(
        LOAD_URL,
        {"docker_host": DockerHostFactory().pk, "mode": "load", "archive": SimpleUploadedFile("x.tar", b"x")},
    )
    assert response.status_code == 403
    assert not Job.objects.exists()
    assert uploads() == []


def test_an_engine_that_does_not_answer_is_retried_and_the_tar_kept_until_the_job_ends(staff, sent):
    from portal.jobs import RetryLater

    unreachable = DockerHostFactory(name="gone", base_url="unix:///nonexistent/docker.sock")
    upload = SimpleUploadedFile("rootfs.tar", b"not really a tar", content_type="application/x-tar")
    job = image_load_request(
        actor=staff, docker_host=unreachable, upload=upload, mode="import", reference="x/y:1", teams=[]
    )
    with pytest.raises(RetryLater):
        image_load(job_id=job.pk, final_attempt=False)
    assert len(uploads()) == 1, "the next attempt needs the tar"
    job.refresh_from_db()
    assert job.state == JobState.RUNNING
    assert "trying again later" in job.log[-1]["message"]

    image_load(job_id=job.pk, final_attempt=True)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert uploads() == [], "a job that ended took its tar with it"
