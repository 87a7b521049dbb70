"""The dashboard page (`GET /dashboard`) and its built assets (`GET /dashboard/assets/{name}`).

Both are public (no key: the page asks the person for one and sends it to the API itself). The
files come from ``chalicelib/dashboard_static/``, the output of ``dashboard/build.mjs`` (run by
``scripts/bootstrap.sh``; git-ignored, shipped in the Lambda package): ``index.html``,
content-hashed ``.js`` and ``.css`` files and ``manifest.json``, which lists them. Only the names
in the manifest are served, so no request can reach any other file, whatever its path says.

Every answer carries a strict Content-Security-Policy (scripts, styles and API calls from this
origin only; no inline script or style; nothing may frame the page), ``nosniff`` and
``Referrer-Policy: no-referrer``. The page is ``no-cache`` (a new build is seen at once); the
hashed assets are immutable for a year.

``/dashboard/`` (trailing slash) is redirected (308) to ``../dashboard``: API Gateway and Chalice
route it to the same handler, but the page's relative URLs would then resolve one level too deep
(``/dashboard/dashboard/assets/...``). The ``Location`` is relative, so it keeps a stage prefix
(``/api/dashboard/`` -> ``/api/dashboard``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from chalice.app import Blueprint, Response

from chalicelib import errors
from chalicelib.api.http import path_param
from chalicelib.api.models.dashboard import ASSET_NAME_PATTERN

STATIC_DIR = Path(__file__).resolve().parent.parent / "dashboard_static"
MANIFEST = "manifest.json"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
PAGE_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=31536000, immutable"
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


class BundleMissing(errors.NotFound):
    """The build output is not there: the app was started from a tree nobody bootstrapped."""


@dataclass(frozen=True)
class Bundle:
    page: str
    assets: dict[str, tuple[str, str]]  # name -> (Content-Type, text)


def load_bundle(directory: Path) -> Bundle:
    """The page and the assets ``manifest.json`` lists; refuses a manifest that names a file
    outside the directory or of a type the dashboard does not serve."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        page = (directory / str(manifest["page"])).read_text(encoding="utf-8")
        names = list(manifest["assets"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BundleMissing(
            "The dashboard is not built: run `make bootstrap` (it builds dashboard/ into "
            "chalicelib/dashboard_static/)."
        ) from exc
    assets: dict[str, tuple[str, str]] = {}
    for name in names:
        if not ASSET_NAME_PATTERN.fullmatch(name):
            raise ValueError(f"{directory / MANIFEST}: asset name {name!r} is not allowed")
        content_type = CONTENT_TYPES[name[name.rindex(".") :]]
        assets[name] = (content_type, (directory / name).read_text(encoding="utf-8"))
    return Bundle(page, assets)


class BundleCache:
    """The bundle, read once on first use (a missing build is re-checked on every request, so
    building it fixes a running dev server)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._bundle: Bundle | None = None
        self._lock = threading.Lock()

    def get(self) -> Bundle:
        with self._lock:
            if self._bundle is None:
                self._bundle = load_bundle(self.directory)
            return self._bundle


def _answer(body: str, content_type: str, cache: str, status: int = 200, **extra: str) -> Response:
    headers: dict[str, str | list[str]] = {
        **extra,
        "Content-Type": content_type,
        "Cache-Control": cache,
        **SECURITY_HEADERS,
    }
    return Response(body=body, status_code=status, headers=headers)


def _redirect_to_page() -> Response:
    return _answer(
        "The dashboard is at ../dashboard\n",
        "text/plain; charset=utf-8",
        PAGE_CACHE,
        308,
        Location="../dashboard",
    )


def requested_path(context: dict[str, object] | None) -> str:
    """The path as the client sent it (API Gateway's ``requestContext.path``, stage prefix
    included; Chalice local fills it the same way): routing drops a trailing slash, this keeps
    it."""
    path = (context or {}).get("path")
    return path if isinstance(path, str) else ""


def blueprint(directory: Path = STATIC_DIR) -> Blueprint:
    bp = Blueprint(__name__)
    bundle = BundleCache(directory)

    @bp.route("/dashboard", methods=["GET"])
    def dashboard_page() -> Response:
        request = bp.current_request
        if requested_path(request.context if request else None).endswith("/dashboard/"):
            return _redirect_to_page()
        return _answer(bundle.get().page, "text/html; charset=utf-8", PAGE_CACHE)

    @bp.route("/dashboard/assets/{name}", methods=["GET"])
    def dashboard_asset(name: str) -> Response:
        wanted = path_param(name)
        asset = bundle.get().assets.get(wanted) if ASSET_NAME_PATTERN.fullmatch(wanted) else None
        if asset is None:
            raise errors.NotFound("No dashboard asset with that name.")
        content_type, text = asset
        return _answer(text, content_type, ASSET_CACHE)

    return bp
