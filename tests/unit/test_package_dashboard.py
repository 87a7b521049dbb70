"""`make package` refuses to package without the dashboard's build, and names what is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.package_stack import check_dashboard_bundle


def write(directory: Path, names: list[str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {"page": "index.html", "assets": {"dashboard-AB.js": "t", "dashboard-CD.css": "t"}}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    for name in names:
        (directory / name).write_text("x")


def test_a_complete_build_is_listed(tmp_path: Path) -> None:
    write(tmp_path, ["index.html", "dashboard-AB.js", "dashboard-CD.css"])
    assert check_dashboard_bundle(tmp_path) == [
        "manifest.json",
        "index.html",
        "dashboard-AB.js",
        "dashboard-CD.css",
    ]


def test_no_build_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"not built.*make bootstrap"):
        check_dashboard_bundle(tmp_path / "absent")


def test_a_missing_asset_is_named(tmp_path: Path) -> None:
    write(tmp_path, ["index.html", "dashboard-AB.js"])
    with pytest.raises(SystemExit, match=r"incomplete \(missing \['dashboard-CD.css'\]\)"):
        check_dashboard_bundle(tmp_path)
