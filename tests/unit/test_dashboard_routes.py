"""`GET /dashboard` and `GET /dashboard/assets/{name}` through the whole app (middleware
included), on a bundle written here; and the real build's page, checked for what its
Content-Security-Policy forbids."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.api import dashboard
from chalicelib.api.application import create_app
from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings
from tests.conftest import TEST_ENV

PAGE = (
    '<!doctype html><html><head><link rel="stylesheet" href="dashboard/assets/app-AB12.css">'
    '<script defer src="dashboard/assets/app-CD34.js"></script></head><body></body></html>'
)
SCRIPT = "console.log('dashboard');"
STYLE = "body { color: black; }"


class UncalledClient:
    """Serving the dashboard must not touch DynamoDB; any call fails loudly."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"DynamoDB client used by a dashboard route: {name}")


def write_bundle(directory: Path, assets: dict[str, str] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    files = {"app-AB12.css": STYLE, "app-CD34.js": SCRIPT} if assets is None else assets
    (directory / "index.html").write_text(PAGE)
    for name, text in files.items():
        (directory / name).write_text(text)
    manifest = {"page": "index.html", "assets": dict.fromkeys(files, "ignored")}
    (directory / dashboard.MANIFEST).write_text(json.dumps(manifest))
    # A file beside the bundle that is not in the manifest: never served.
    (directory / "secret.js").write_text("not listed")
    return directory


def client_for(directory: Path) -> Client:
    runtime = Runtime.build(load_settings(TEST_ENV), dynamodb=UncalledClient())  # type: ignore[arg-type]
    return Client(create_app(runtime, dashboard_dir=directory), stage_name="local")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    with client_for(write_bundle(tmp_path / "static")) as c:
        yield c


def assert_security_headers(headers: dict[str, str]) -> None:
    assert headers["Content-Security-Policy"] == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Request-ID"]


def test_the_page_is_served_without_a_key_with_a_strict_policy(client: Client) -> None:
    response = client.http.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert_security_headers(response.headers)
    assert response.body.decode() == PAGE


@pytest.mark.parametrize(
    ("name", "content_type", "text"),
    [
        ("app-CD34.js", "text/javascript; charset=utf-8", SCRIPT),
        ("app-AB12.css", "text/css; charset=utf-8", STYLE),
    ],
)
def test_a_listed_asset_is_served_immutable(
    client: Client, name: str, content_type: str, text: str
) -> None:
    response = client.http.get(f"/dashboard/assets/{name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert_security_headers(response.headers)
    assert response.body.decode() == text


@pytest.mark.parametrize(
    "name",
    [
        "missing-0000.js",
        "secret.js",  # in the directory, not in the manifest
        "manifest.json",
        "index.html",
        "..%2Fmanifest.json",
        "..%2F..%2F..%2Fapp.py",
        "%2e%2e%2fsecret.js",
        "app-CD34.js%00.css",
        "%2Fetc%2Fpasswd",
        ".app-CD34.js",
    ],
)
def test_anything_else_is_a_404_in_the_envelope(client: Client, name: str) -> None:
    response = client.http.get(f"/dashboard/assets/{name}")
    assert response.status_code == 404
    body = json.loads(response.body)
    assert body["error"]["code"] == "not_found"
    assert body["error"]["message"] == "No dashboard asset with that name."
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_a_missing_build_says_how_to_build_it(tmp_path: Path) -> None:
    with client_for(tmp_path / "nothing-here") as c:
        response = c.http.get("/dashboard")
    assert response.status_code == 404
    assert "make bootstrap" in json.loads(response.body)["error"]["message"]


def test_a_manifest_naming_a_file_outside_is_refused(tmp_path: Path) -> None:
    directory = write_bundle(tmp_path / "static")
    (directory / dashboard.MANIFEST).write_text(
        json.dumps({"page": "index.html", "assets": {"../app.py": "text/plain"}})
    )
    with pytest.raises(ValueError, match="not allowed"):
        dashboard.load_bundle(directory)


# -- the real build (scripts/bootstrap.sh makes it; make test runs bootstrap first) ----------
def built() -> tuple[str, dict[str, Any]]:
    manifest_path = dashboard.STATIC_DIR / dashboard.MANIFEST
    if not manifest_path.exists():
        pytest.fail(f"{manifest_path} is missing: run `make bootstrap` to build the dashboard")
    manifest = json.loads(manifest_path.read_text())
    return (dashboard.STATIC_DIR / manifest["page"]).read_text(), manifest


def test_the_built_page_has_no_inline_script_or_style_and_relative_links() -> None:
    page, manifest = built()
    assert "<style" not in page
    assert not re.search(r"\sstyle\s*=", page)
    assert not re.search(r"\son[a-z]+\s*=", page), "inline event handler"
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
    assert scripts
    assert all("src=" in attrs and not body.strip() for attrs, body in scripts)
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    # An empty icon (data:, allowed by img-src): no /favicon.ico request, 404 in the console.
    assert links.count("data:,") == 1
    links.remove("data:,")
    assert links
    for link in links:
        assert not link.startswith(("/", "http:", "https:", "//")), link
        assert link.startswith("dashboard/assets/"), link
        assert link.removeprefix("dashboard/assets/") in manifest["assets"], link


def test_the_real_build_is_served() -> None:
    page, manifest = built()
    with client_for(dashboard.STATIC_DIR) as c:
        assert c.http.get("/dashboard").body.decode() == page
        for name in manifest["assets"]:
            response = c.http.get(f"/dashboard/assets/{name}")
            assert response.status_code == 200, name
            assert response.body == (dashboard.STATIC_DIR / name).read_bytes()


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/?x=1"])
def test_a_trailing_slash_is_redirected_to_the_page(client: Client, path: str) -> None:
    # Chalice (like API Gateway) routes /dashboard/ to the /dashboard handler; served there,
    # the page's relative URLs would resolve under /dashboard/dashboard/.
    response = client.http.get(path)
    assert response.status_code == 308
    assert response.headers["Location"] == "../dashboard"
    assert_security_headers(response.headers)
    assert client.http.get("/dashboard").status_code == 200


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("http://h/dashboard/", "http://h/dashboard"),
        ("https://h/api/dashboard/", "https://h/api/dashboard"),  # behind a stage prefix
    ],
)
def test_the_relative_location_keeps_a_stage_prefix(page: str, expected: str) -> None:
    from urllib.parse import urljoin

    assert urljoin(page, "../dashboard") == expected


def test_the_requested_path_comes_from_the_request_context() -> None:
    assert dashboard.requested_path({"path": "/api/dashboard/"}) == "/api/dashboard/"
    assert dashboard.requested_path({}) == ""
    assert dashboard.requested_path(None) == ""
