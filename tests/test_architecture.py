"""The shape of the house, checked: which package may import which, and where reads may happen.

These read the source as text (every ``import`` statement, module-level or not),
so a violation fails here before anyone has to notice it in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("portal", "hypervisors", "containers", "overview", "config")


def python_files(package: str) -> list[Path]:
    return sorted(path for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, wherever the import statement stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def top_packages(path: Path) -> set[str]:
    return {module.split(".")[0] for module in imported_modules(path)}


#: Which of the project's packages each package may import. The base (portal) knows no kind of
#: resource; the apps that provide kinds know the base but not each other; only the cross-app pages
#: (overview) see everything; nothing imports the project package (config) but Django itself.
ALLOWED = {
    "portal": {"portal"},
    "hypervisors": {"hypervisors", "portal"},
    "containers": {"containers", "portal"},
    "overview": {"overview", "portal", "hypervisors", "containers"},
    "config": {"config", "portal", "hypervisors", "containers", "overview"},
}


@pytest.mark.parametrize("package", APPS)
def test_packages_import_only_what_they_may(package):
    offences = [
        f"{path.relative_to(ROOT)} imports {other}"
        for path in python_files(package)
        for other in sorted(top_packages(path) & set(APPS) - ALLOWED[package])
    ]
    assert offences == []


def test_the_base_imports_no_plugin():
    """The base must not import the apps that plug into it (they register through portal.kinds)."""
    offences = [
        str(path.relative_to(ROOT))
        for path in python_files("portal")
        if top_packages(path) & {"hypervisors", "containers", "overview"}
    ]
    assert offences == []


SDK_OWNERS = {"libvirt": ROOT / "hypervisors" / "drivers", "docker": ROOT / "containers" / "drivers"}


@pytest.mark.parametrize("sdk", sorted(SDK_OWNERS))
def test_only_the_driver_packages_import_the_sdks(sdk):
    """Benchmarks too: their raw baselines take the SDK from ``hypervisors.drivers.raw`` (or docker's driver)."""
    owner = SDK_OWNERS[sdk]
    offences = [
        str(path.relative_to(ROOT))
        for package in (*APPS, "bench")
        for path in python_files(package)
        if sdk in top_packages(path) and owner not in path.parents
    ]
    assert offences == []


def view_modules() -> list[Path]:
    """Front doors: page views and websocket consumers, which load through selectors and act through services."""
    return [
        path
        for package in APPS
        for path in python_files(package)
        if path.name.endswith("views.py") or path.name == "consumers.py"
    ]


def test_views_read_only_through_selectors():
    """A view that queries a manager directly can forget the team scope; every read goes through a selector."""
    offences = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in view_modules()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if ".objects." in line
    ]
    assert view_modules(), "no view module found: the check would pass for nothing"
    assert offences == []


def test_views_never_reach_a_driver():
    offences = [
        str(path.relative_to(ROOT))
        for path in view_modules()
        if any(".drivers" in module or module.endswith(".tasks") for module in imported_modules(path))
    ]
    assert offences == []


def test_no_module_is_too_long_to_live_in():
    """Small modules with one job: none of the code or its tests grows past ~400 lines."""
    long_ones = [
        f"{path.relative_to(ROOT)} ({count} lines)"
        for package in (*APPS, "tests", "bench")
        for path in python_files(package)
        if (count := len(path.read_text().splitlines())) > 400
    ]
    assert long_ones == []
