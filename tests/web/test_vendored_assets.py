"""The committed front-end files match assets/package-lock.json (refresh them with `make assets`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets"
VENDOR = ROOT / "src" / "commonspace" / "web" / "static" / "vendor"

# Each vendored build, the package it comes from, and how the build states its own version.
BUILDS = [
    ("htmx.min.js", "htmx.org", r'version:"([^"]+)"'),
    ("pico.min.css", "@picocss/pico", r"Pico CSS \S* ?v(\S+) "),
    ("chart.umd.min.js", "chart.js", r"Chart\.js v(\S+)"),
]
LICENSES = [
    "htmx.org.LICENSE.txt",
    "picocss-pico.LICENSE.txt",
    "chart.js.LICENSE.txt",
    "kurkle-color.LICENSE.txt",  # bundled inside chart.umd.min.js
]


def locked_versions() -> dict[str, str]:
    lock = json.loads((ASSETS / "package-lock.json").read_text(encoding="utf-8"))
    packages = lock["packages"]
    return {name: packages[f"node_modules/{name}"]["version"] for name in packages[""]["dependencies"]}


def vendored_versions() -> dict[str, str]:
    return json.loads((VENDOR / "versions.json").read_text(encoding="utf-8"))


def test_lock_pins_exactly_what_package_json_asks_for() -> None:
    wanted = json.loads((ASSETS / "package.json").read_text(encoding="utf-8"))["dependencies"]
    assert wanted == locked_versions(), "package.json changed without `npm install` in assets/"


def test_versions_json_lists_every_locked_package_at_its_locked_version() -> None:
    locked = locked_versions()
    assert locked, "package-lock.json has no top-level dependencies"
    assert vendored_versions() == locked, "the vendored files are stale: run `make assets`"


def test_every_locked_package_is_vendored() -> None:
    assert {package for _, package, _ in BUILDS} == set(locked_versions())


@pytest.mark.parametrize("name", [name for name, _, _ in BUILDS] + LICENSES + ["versions.json"])
def test_vendored_file_exists_and_is_not_empty(name: str) -> None:
    path = VENDOR / name
    assert path.is_file(), f"{name} is missing: run `make assets`"
    assert path.stat().st_size > 0, f"{name} is empty"


@pytest.mark.parametrize(("name", "package", "pattern"), BUILDS, ids=[name for name, _, _ in BUILDS])
def test_vendored_build_is_the_locked_version(name: str, package: str, pattern: str) -> None:
    head = (VENDOR / name).read_text(encoding="utf-8")
    found = re.search(pattern, head)
    assert found, f"{name} states no version matching {pattern!r}"
    assert found.group(1) == locked_versions()[package]


def test_htmx_is_the_2_0_line() -> None:
    # htmx 4 changes the attribute and event model; moving to it is a deliberate upgrade, not a refresh.
    assert locked_versions()["htmx.org"].startswith("2.0.")
