"""Host pages for portal administrators, rendered from rows alone."""

import html
import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from hypervisors.models import HostStatSample, UnmanagedDomain
from portal.models import Team
from tests.factories import HostFactory, UserFactory, VirtualMachineFactory
from tests.support.pages import text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_hypervisor")]

GIB_KIB = 1024 * 1024


def squeezed(response) -> str:
    """The page's text with tags dropped and white space collapsed, to read figures as a person does."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


@pytest.fixture
def host(db):
    return HostFactory(name="kvm1", cpus=16, memory_mib=3072)


@pytest.fixture
def filled(host, team, outsider):
    """VMs of two teams and an unmanaged domain on the host."""
    red = Team.objects.get(slug="red")
    blue_vm = VirtualMachineFactory(team=team, host=host, name="blue-web", vcpus=2, memory_mib=256)
    red_vm = VirtualMachineFactory(team=red, host=host, name="red-db", vcpus=1, memory_mib=128, state="shutoff")
    domain = UnmanagedDomain.objects.create(
        host=host, uuid=uuid.uuid4(), name="hand-made", state="running", vcpus=2, memory_mib=512,
        last_seen_at=timezone.now(),
    )  # fmt: skip
    return blue_vm, red_vm, domain


@pytest.fixture
def staff_user(db):
    """Staff, not superuser: the pages need only is_staff."""
    return UserFactory(username="operator", is_staff=True)


# --- access ---


def test_anonymous_is_sent_to_login(host):
    for url in ("/hosts/", f"/hosts/{host.pk}/"):
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(f"/accounts/login/?next={url}")


def test_anonymous_sees_nothing(host, filled):
    for url in ("/hosts/", f"/hosts/{host.pk}/"):
        response = Client().get(url)
        assert response.status_code in (302, 403), url
        assert "kvm1" not in text(response)
        assert "red-db" not in text(response)


@pytest.mark.parametrize("who", ["member", "team_admin", "viewer"])
def test_non_staff_get_403(request, client_for, host, filled, who):
    client = client_for(request.getfixturevalue(who))
    for url in ("/hosts/", f"/hosts/{host.pk}/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "red-db" not in text(response)


def test_unknown_host_is_404(client_for, staff):
    assert client_for(staff).get("/hosts/999999/").status_code == 404


# --- the list ---


def test_host_list_shows_capacity(client_for, staff_user, host, filled):
    HostFactory(name="kvm2", uri="qemu+ssh://root@kvm2/system", is_reachable=False, accepts_new_vms=False, cpus=8)
    response = client_for(staff_user).get("/hosts/")
    assert response.status_code == 200
    page = squeezed(response)
    rows = {host.name: host for host in response.context["hosts"]}
    assert (rows["kvm1"].allocated_vcpus, rows["kvm1"].allocated_memory_mib, rows["kvm1"].vm_total) == (3, 384, 2)
    assert (rows["kvm2"].allocated_vcpus, rows["kvm2"].vm_total) == (0, 0)
    assert "3 / 64" in page, "16 CPUs at the default 4x overcommit"
    assert "384 / 3072 MiB" in page
    assert "0 / 32" in page
    assert "unreachable" in page
    assert "maintenance" in page
    assert f'href="/hosts/{host.pk}/"' in response.content.decode()


def test_host_list_follows_the_overcommit_settings(client_for, staff, host, settings):
    settings.PORTAL_CPU_OVERCOMMIT = 2.0
    settings.PORTAL_MEMORY_OVERCOMMIT = 2.0
    page = squeezed(client_for(staff).get("/hosts/"))
    assert "0 / 32" in page
    assert "0 / 6144 MiB" in page


@pytest.mark.parametrize(("overcommit", "capacity"), [(1.5, "0 / 4608 MiB"), (0.5, "0 / 1536 MiB")])
def test_host_list_with_a_fractional_memory_overcommit(client_for, staff, host, settings, overcommit, capacity):
    settings.PORTAL_MEMORY_OVERCOMMIT = overcommit
    response = client_for(staff).get("/hosts/")
    detail = client_for(staff).get(f"/hosts/{host.pk}/")
    assert f"of {capacity.split(' / ')[1]}" in squeezed(detail), "the host page gets it right"
    assert capacity in squeezed(response)


def test_host_never_probed_renders(client_for, staff):
    HostFactory(name="fresh", cpus=None, memory_mib=None, domain_type="", is_reachable=False)
    response = client_for(staff).get("/hosts/")
    assert response.status_code == 200
    assert "fresh" in text(response)
    detail = client_for(staff).get(f"/hosts/{response.context['hosts'][0].pk}/")
    assert detail.status_code == 200
    assert "never" in squeezed(detail)


def test_empty_host_list(client_for, staff):
    assert "No hosts yet." in text(client_for(staff).get("/hosts/"))


# --- one host ---


def test_host_detail_shows_facts_capacity_vms_and_unmanaged_domains(client_for, staff, host, filled):
    blue_vm, _red_vm, domain = filled
    response = client_for(staff).get(f"/hosts/{host.pk}/")
    assert response.status_code == 200
    page = squeezed(response)
    assert "3 given of 64" in page
    assert "384 MiB given of 3072 MiB" in page
    assert [vm.name for vm in response.context["vms"]] == ["blue-web", "red-db"], "every team's VMs"
    for name in ("blue-web", "red-db"):
        assert name in page
    assert f'href="/vms/{blue_vm.uuid}/"' in response.content.decode()
    assert list(response.context["unmanaged"]) == [domain]
    assert str(domain.uuid) in page
    assert "hand-made" in page
    assert "512 MiB" in page


def test_host_detail_draws_graphs_from_samples(client_for, staff, host):
    now = timezone.now()
    for minutes, busy, total, free in ((20, 10, 100, 2), (10, 40, 160, 1), (90, 0, 0, 3)):
        HostStatSample.objects.create(
            host=host,
            taken_at=now - timedelta(minutes=minutes),
            cpu_busy_ns=busy * 10**9,
            cpu_total_ns=total * 10**9,
            memory_total_kib=4 * GIB_KIB,
            memory_free_kib=free * GIB_KIB,
            running_domains=1,
        )
    response = client_for(staff).get(f"/hosts/{host.pk}/")
    body = response.content.decode()
    assert len(re.findall(r'<svg [^>]*class="graph graph-(cpu|memory)"', body)) == 2
    cpu, memory = (series for series, _svg in response.context["graphs"])
    assert [round(v, 1) for _, v in cpu.points] == [50.0], "the 90 min old sample is outside the window"
    assert [v for _, v in memory.points] == [2048.0, 3072.0]
    assert "CPU: <strong>50.0 %</strong>" in body
    assert "Memory in use: <strong>3072.0 MiB</strong>" in body


def test_unreachable_host_shows_since_when_and_the_error_escaped(client_for, staff):
    since = timezone.now() - timedelta(hours=2)
    host = HostFactory(
        name="down", uri="qemu+ssh://root@down/system", is_reachable=False, unreachable_since=since,
        last_error="<script>alert(1)</script> connection refused",
    )  # fmt: skip
    response = client_for(staff).get(f"/hosts/{host.pk}/")
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; connection refused" in response.content.decode()
    assert f"unreachable since {timezone.localtime(since):%Y-%m-%d %H:%M}" in squeezed(response)


def test_host_picture_draws_vms_without_a_card_on_the_hosts_default_network(client_for, staff, host, filled):
    """A VM asked for without a network sits on the host's own network, which has no row: it is drawn all the same."""
    response = client_for(staff).get(f"/hosts/{host.pk}/")
    svg = response.context["topology"]
    assert f">{host.network}</text>" in svg
    assert "the host's default network" in svg
    assert svg.count('class="link"') == 2, "both VMs are linked to it"


# --- whose names a staff user sees ---


def test_staff_without_permissions_or_team_sees_capacity_but_no_names(client_for, staff_user, host, filled):
    from hypervisors.models import VirtualNetwork

    red = Team.objects.get(slug="red")
    VirtualNetwork.objects.create(host=host, team=red, name="red-secret-net", subnet="10.213.5.0/24")
    response = client_for(staff_user).get(f"/hosts/{host.pk}/")
    assert response.status_code == 200
    page = squeezed(response)
    assert "3 given of 64" in page, "capacity and load are for every staff user"
    for name in ("blue-web", "red-db", "hand-made", "red-secret-net"):
        assert name not in page, name
    assert list(response.context["vms"]) == []


def test_staff_sees_their_own_teams_vms_by_name(client_for, staff_user, host, filled, team):
    from tests.factories import MembershipFactory

    MembershipFactory(user=staff_user, team=team)
    page = squeezed(client_for(staff_user).get(f"/hosts/{host.pk}/"))
    assert "blue-web" in page
    assert "red-db" not in page


def test_view_permissions_show_every_teams_names(client_for, staff_user, host, filled):
    from django.contrib.auth.models import Permission

    staff_user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="hypervisors",
            codename__in=["view_virtualmachine", "view_virtualnetwork", "view_unmanageddomain"],
        )
    )
    page = squeezed(client_for(staff_user).get(f"/hosts/{host.pk}/"))
    for name in ("blue-web", "red-db", "hand-made"):
        assert name in page, name
