"""The VM list: filters, sorting, pagination, bad parameters and query counts."""

from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hypervisors.models import VirtualMachine
from portal.choices import Role
from portal.models import Team
from tests.factories import (
    HostFactory,
    ImageFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
    VirtualMachineFactory,
)
from tests.support.pages import text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_hypervisor")]


def listed(response) -> list[tuple[str, str]]:
    """(team, name) of the VMs on the page, in order."""
    assert response.status_code == 200
    return [(vm.team.slug, vm.name) for vm in response.context["vms"]]


@pytest.fixture
def green(member):
    team = TeamFactory(name="green", slug="green")
    MembershipFactory(user=member, team=team, role=Role.VIEWER)
    return team


@pytest.fixture
def hosts(db):
    return HostFactory(name="kvm-a"), HostFactory(name="kvm-b", uri="qemu+ssh://root@kvm-b/system")


@pytest.fixture
def fleet(team, green, outsider, hosts):
    """Five VMs the member may see in two teams, and two of another team that must never show."""
    a, b = hosts
    red = Team.objects.get(slug="red")
    rows = [
        (team, "alpha", "running", a, 2, 512),
        (team, "bravo", "shutoff", b, 1, 1024),
        (team, "charlie", "paused", a, 4, 256),
        (green, "delta", "running", b, 3, 128),
        (green, "alpha", "building", a, 1, 64),
        (red, "red-secret", "running", a, 8, 2048),
        (red, "alpha-red", "running", b, 1, 32),
    ]
    for owner_team, name, state, host, vcpus, memory in rows:
        VirtualMachineFactory(team=owner_team, name=name, state=state, host=host, vcpus=vcpus, memory_mib=memory)


ALL_MINE = [("blue", "alpha"), ("green", "alpha"), ("blue", "bravo"), ("blue", "charlie"), ("green", "delta")]


@pytest.fixture
def client(client_for, member):
    return client_for(member)


def get(client, **params):
    return client.get("/vms/?" + urlencode(params))


# --- filters ---


def test_default_lists_own_teams_by_name(client, fleet):
    response = client.get("/vms/")
    assert listed(response) == ALL_MINE
    assert "red-secret" not in text(response)
    assert "alpha-red" not in text(response)


def test_name_filter(client, fleet):
    assert listed(get(client, q="alp")) == [("blue", "alpha"), ("green", "alpha")]
    assert listed(get(client, q="ALP")) == [("blue", "alpha"), ("green", "alpha")], "names are lowercase"
    assert listed(get(client, q="secret")) == []
    assert listed(get(client, q="%")) == [], "a LIKE wildcard is a plain character"


def test_team_filter(client, fleet, green):
    assert listed(get(client, team=green.pk)) == [("green", "alpha"), ("green", "delta")]


def test_state_filter(client, fleet):
    assert listed(get(client, state="running")) == [("blue", "alpha"), ("green", "delta")]
    assert listed(get(client, state="building")) == [("green", "alpha")]
    assert listed(get(client, state="missing")) == []


def test_host_filter(client, fleet, hosts):
    a, b = hosts
    assert listed(get(client, host=b.pk)) == [("blue", "bravo"), ("green", "delta")]
    assert listed(get(client, host=a.pk)) == [("blue", "alpha"), ("green", "alpha"), ("blue", "charlie")]


def test_filters_combine(client, fleet, hosts, team):
    a, _b = hosts
    assert listed(get(client, host=a.pk, state="running", team=team.pk, q="al")) == [("blue", "alpha")]


SORTS = {
    "name": ALL_MINE,
    "-name": [("green", "delta"), ("blue", "charlie"), ("blue", "bravo"), ("blue", "alpha"), ("green", "alpha")],
    "team": [("blue", "alpha"), ("blue", "bravo"), ("blue", "charlie"), ("green", "alpha"), ("green", "delta")],
    "state": [("green", "alpha"), ("blue", "charlie"), ("blue", "alpha"), ("green", "delta"), ("blue", "bravo")],
    "host": [("blue", "alpha"), ("green", "alpha"), ("blue", "charlie"), ("blue", "bravo"), ("green", "delta")],
    "memory": [("blue", "bravo"), ("blue", "alpha"), ("blue", "charlie"), ("green", "delta"), ("green", "alpha")],
    "vcpus": [("blue", "charlie"), ("green", "delta"), ("blue", "alpha"), ("green", "alpha"), ("blue", "bravo")],
    "newest": [("green", "alpha"), ("green", "delta"), ("blue", "charlie"), ("blue", "bravo"), ("blue", "alpha")],
}


@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_key(client, fleet, sort):
    got = listed(get(client, sort=sort))
    if sort == "host":  # two VMs named alpha on kvm-a: their order is not fixed
        assert [name for _team, name in got] == [name for _team, name in SORTS[sort]]
    else:
        assert got == SORTS[sort]


def test_sort_links_keep_the_filters(client, fleet):
    body = get(client, state="running", q="a").content.decode()
    assert 'href="?state=running&amp;q=a&amp;sort=memory"' in body


# --- bad parameters ---

BAD = [
    {"state": "bogus"},
    {"state": "RUNNING"},
    {"sort": "bogus"},
    {"sort": "-created_at"},
    {"sort": "team__quota__vcpus"},
    {"team": "abc"},
    {"team": "999999"},
    {"team": str(10**30)},
    {"team": "-1"},
    {"host": "abc"},
    {"host": "999999"},
    {"host": str(10**30)},
    {"q": "x" * 200},
    {"q": "<script>alert(1)</script>"},
    {"q": "\x00"},
    {"state": "", "sort": "", "team": "", "host": "", "q": ""},
]


@pytest.mark.parametrize("params", BAD, ids=lambda p: repr(p)[:30])
def test_bad_parameters_are_ignored(client, fleet, params):
    response = get(client, **params)
    assert response.status_code == 200
    assert "red-secret" not in text(response)
    assert "alpha-red" not in text(response)
    assert set(listed(response)) <= set(ALL_MINE)
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_another_teams_id_shows_nothing_of_it(client, fleet):
    red = Team.objects.get(slug="red")
    response = get(client, team=red.pk)
    assert listed(response) == ALL_MINE, "an invalid choice is ignored, never applied"
    assert "red-secret" not in text(response)


def test_bad_page_is_404_not_500(client, fleet):
    assert get(client, page="abc").status_code == 404
    assert get(client, page="99").status_code == 404
    assert get(client, page="last").status_code == 200


def test_user_of_no_team_sees_nothing(client_for, fleet):
    response = client_for(UserFactory(username="lonely")).get("/vms/")
    assert listed(response) == []
    assert "No virtual machines here." in text(response)


def test_superuser_sees_every_team(client_for, staff, fleet):
    assert len(listed(client_for(staff).get("/vms/"))) == 7


# --- queries and pagination ---


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", ["/vms/", "/vms/?sort=host&state=running", "/vms/?q=vm&sort=newest&page=2"])
def test_query_count_does_not_grow_with_vms(client, team, green, url):
    def add(i):
        VirtualMachineFactory(
            team=team if i % 2 else green,
            name=f"vm{i:03d}",
            host=HostFactory(name=f"h{i}", uri=f"qemu+ssh://root@h{i}/system"),
            image=ImageFactory(),
        )

    for i in range(52):  # enough for a second page
        add(i)
    client.get("/vms/")  # warm caches (content types, session)
    small = count_queries(client, url)
    for i in range(52, 112):
        add(i)
    assert VirtualMachine.objects.count() == 112
    assert count_queries(client, url) == small


def test_query_count_for_one_and_sixty_vms(client, team):
    def add(i):
        VirtualMachineFactory(
            team=team, name=f"vm{i:03d}", host=HostFactory(name=f"h{i}", uri=f"qemu+ssh://root@h{i}/system"),
            image=ImageFactory(),
        )  # fmt: skip

    add(0)
    client.get("/vms/")
    one = count_queries(client, "/vms/")
    for i in range(1, 60):
        add(i)
    assert count_queries(client, "/vms/") == one


def test_pagination_keeps_the_filters(client, team):
    host = HostFactory(name="kvm-a")
    for i in range(60):
        VirtualMachineFactory(team=team, name=f"run{i:02d}", host=host, state="running")
    for i in range(5):
        VirtualMachineFactory(team=team, name=f"off{i:02d}", host=host, state="shutoff")

    first = get(client, state="running", sort="-name")
    assert len(listed(first)) == 50
    assert listed(first)[0] == ("blue", "run59")
    body = first.content.decode()
    assert 'href="?state=running&amp;sort=-name&amp;page=2"' in body
    assert "Page 1 of 2" in text(first)

    second = get(client, state="running", sort="-name", page=2)
    names = [name for _team, name in listed(second)]
    assert names == [f"run{i:02d}" for i in range(9, -1, -1)]
    assert 'href="?state=running&amp;sort=-name&amp;page=1"' in second.content.decode()
    assert "page=2&amp;page" not in second.content.decode(), "the page number is not repeated"
