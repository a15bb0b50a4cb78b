"""Who may watch which top page: staff a host's, whoever sees a team its own (viewers too, it only
shows). Everyone else gets 404 on the page and a refused websocket; a foreign Origin is refused."""

from __future__ import annotations

import pytest

from portal.consumers import REFUSED
from tests.support.websockets import communicator, run

pytestmark = pytest.mark.django_db(transaction=True)

#: (who, status of the host's top page, status of team blue's top page); anonymous goes to the login page.
PAGES = [
    ("staff", 200, 200),
    ("member", 404, 200),
    ("viewer", 404, 200),
    ("outsider", 404, 404),
    ("anonymous", 302, 302),
]


@pytest.fixture(autouse=True)
def quick_refresh(settings):
    settings.PORTAL_TOP_INTERVAL_SECONDS = 0.1


def user_of(request, who: str):
    return None if who == "anonymous" else request.getfixturevalue(who)


@pytest.mark.parametrize(("who", "host_status", "team_status"), PAGES)
def test_pages(request, client, client_for, libvirt_test_host, team, who, host_status, team_status):
    user = user_of(request, who)
    browser = client if user is None else client_for(user)

    host_page = browser.get(f"/hosts/{libvirt_test_host.pk}/top/")
    team_page = browser.get("/teams/blue/top/")

    assert (host_page.status_code, team_page.status_code) == (host_status, team_status)
    if host_status == 200:
        assert f'data-websocket-path="/ws/hosts/{libvirt_test_host.pk}/top/"' in host_page.content.decode()
    if team_status == 200:
        assert 'data-websocket-path="/ws/teams/blue/top/"' in team_page.content.decode()
    if user is None:
        assert team_page["Location"].startswith("/accounts/login/")


def admitted(path: str, user, origin: str = "http://testserver") -> tuple[bool, object]:
    socket = communicator(path, user=user, origin=origin)

    async def body():
        accepted, code = await socket.connect()
        if accepted:
            await socket.disconnect()
        return accepted, code

    return run(body)


@pytest.mark.parametrize(("who", "host_status", "team_status"), PAGES)
def test_websockets(request, libvirt_test_host, team, who, host_status, team_status):
    user = user_of(request, who)

    host_socket = admitted(f"/ws/hosts/{libvirt_test_host.pk}/top/", user)
    team_socket = admitted("/ws/teams/blue/top/", user)

    assert host_socket[0] is (host_status == 200)
    assert team_socket[0] is (team_status == 200)
    for accepted, code in (host_socket, team_socket):
        if not accepted:
            assert code == REFUSED


def test_unknown_host_and_team_are_refused(staff, libvirt_test_host):
    assert admitted(f"/ws/hosts/{libvirt_test_host.pk + 1000}/top/", staff) == (False, REFUSED)
    assert admitted("/ws/teams/nosuch/top/", staff) == (False, REFUSED)


def test_another_sites_page_is_refused(staff, libvirt_test_host):
    """The Origin check stands in for a ticket: a page elsewhere cannot ride the visitor's session."""
    accepted, _ = admitted(f"/ws/hosts/{libvirt_test_host.pk}/top/", staff, origin="https://evil.example")
    assert not accepted
