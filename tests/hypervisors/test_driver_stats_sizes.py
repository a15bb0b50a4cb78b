"""The bulk domain read asks each domain for its sizes only when the caller needs them."""

from collections.abc import Iterator

import pytest

from hypervisors.drivers import driver_for
from hypervisors.drivers.libvirt_driver import LibvirtDriver

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver(libvirt_test_host) -> Iterator[LibvirtDriver]:
    with driver_for("test:///default") as opened:
        assert isinstance(opened, LibvirtDriver)
        yield opened


def test_sizes_are_read_unless_the_caller_has_them(driver, monkeypatch):
    stats = driver.domains_stats()
    assert stats and all(s.vcpus and s.memory_max_kib for s in stats), "test:///default reports no sizes in bulk"
    asked: list[str] = []
    original = type(driver.conn.listAllDomains()[0]).info

    def counted(domain):
        asked.append(domain.UUIDString())
        return original(domain)

    monkeypatch.setattr(type(driver.conn.listAllDomains()[0]), "info", counted)
    known = {stats[0].uuid.lower()}
    again = {s.uuid: s for s in driver.domains_stats(sizes_known=known)}
    assert stats[0].uuid not in asked
    assert (again[stats[0].uuid].vcpus, again[stats[0].uuid].memory_max_kib) == (None, None)
    assert [s.uuid for s in stats[1:]] == asked
    assert again[stats[0].uuid].state == stats[0].state
