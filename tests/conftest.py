"""Fixtures shared by all tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import libvirt
import pytest
from celery import Task
from django.test import Client

from hypervisors.models import AddressPool, Host, Image
from portal.choices import Role
from portal.models import Team
from tests.factories import HostFactory, ImageFactory, MembershipFactory, TeamFactory, UserFactory
from tests.support.libvirt_test import TEST_URI


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hashing test passwords with the production hasher costs seconds per test and proves nothing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def allow_test_uris(settings):
    """libvirt's test:///default driver stands in for hosts here; the allowlist refuses it elsewhere."""
    settings.PORTAL_ALLOW_TEST_URIS = True


@pytest.fixture
def libvirt_test_host(db) -> Iterator[Host]:
    """A host on libvirt's ``test:///default`` driver, with a fresh in-memory hypervisor.

    The test driver keeps its state while at least one connection is open, so
    the fixture holds one for the test's duration; the next test starts clean.
    """
    keeper = libvirt.open(TEST_URI)
    # A VM asked for without a network gets its team's own, with a subnet cut from a pool.
    AddressPool.objects.create(name="zz-test-pool", cidr="10.250.0.0/16", subnet_prefix=24)
    try:
        yield HostFactory()
    finally:
        keeper.close()


@pytest.fixture
def conn(libvirt_test_host) -> Iterator[libvirt.virConnect]:
    """A raw connection of the test's own to the test hypervisor: what an administrator sees (and does) with virsh."""
    connection = libvirt.open(TEST_URI)
    yield connection
    connection.close()


@pytest.fixture
def sent(monkeypatch) -> list[dict[str, Any]]:
    """Record what would go to the broker instead of sending it: the task's name, its args and the options."""
    calls: list[dict[str, Any]] = []

    def record(self, args=None, kwargs=None, **options):
        calls.append({"task": self.name, "args": tuple(args or ()), **options})

    monkeypatch.setattr(Task, "apply_async", record)
    return calls


@pytest.fixture
def image(db) -> Image:
    return ImageFactory()


@pytest.fixture
def team(db) -> Team:
    return TeamFactory(name="blue", slug="blue")


@pytest.fixture
def member(team):
    user = UserFactory(username="member")
    MembershipFactory(user=user, team=team, role=Role.MEMBER)
    return user


@pytest.fixture
def viewer(team):
    user = UserFactory(username="viewer")
    MembershipFactory(user=user, team=team, role=Role.VIEWER)
    return user


@pytest.fixture
def team_admin(team):
    user = UserFactory(username="teamadmin")
    MembershipFactory(user=user, team=team, role=Role.TEAM_ADMIN)
    return user


@pytest.fixture
def outsider(db):
    """A member of another team."""
    other = TeamFactory(name="red", slug="red")
    user = UserFactory(username="outsider")
    MembershipFactory(user=user, team=other, role=Role.TEAM_ADMIN)
    return user


@pytest.fixture
def red(outsider) -> Team:
    """The outsider's team."""
    return Team.objects.get(slug="red")


@pytest.fixture
def staff(db):
    """A portal administrator (superuser), who decides requests."""
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def client_for():
    """A logged-in test client for a user, with CSRF checks on as in production."""

    def make(user) -> Client:
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def no_hypervisor(monkeypatch):
    """Make any attempt to reach libvirt or Docker fail loudly: pages must render from rows alone."""
    import docker

    def refuse(*args, **kwargs):
        raise AssertionError("A hypervisor or engine was contacted while rendering a page")

    for name in ("open", "openReadOnly", "openAuth"):
        monkeypatch.setattr(libvirt, name, refuse)
    monkeypatch.setattr(docker, "DockerClient", refuse)
    monkeypatch.setattr(docker, "from_env", refuse)
