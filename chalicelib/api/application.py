"""Build the Chalice application around a :class:`Runtime` (app.py, in-process tests, perf).

The whole HTTP middleware chain is assembled here, outermost first:

telemetry (Lambda context keys, metrics scope) -> request context (request id, error envelope,
access log) -> deprecation headers (only when a route is deprecated) -> authentication -> IP
allowlist -> request signature -> rate limit -> view.

``guards=False`` leaves out the IP allowlist, the signature check and the rate limit,
``observe=False`` the access log and metrics (both only for the benchmarks that measure what
those cost). The dashboard page and its assets (api/dashboard.py) are public routes, like health.
"""

from __future__ import annotations

from pathlib import Path

from chalice.app import Chalice, ConvertToMiddleware

from chalicelib.api import (
    access_log,
    analytics,
    api_keys,
    bulk,
    dashboard,
    events,
    guards,
    middleware,
    public_routes,
    telemetry,
    webhooks,
)
from chalicelib.api.deprecations import DEPRECATED_ROUTES, Deprecations
from chalicelib.api.http import Middleware
from chalicelib.observability import metrics
from chalicelib.observability.logging import set_level
from chalicelib.runtime import Runtime

APP_NAME = "triggers-api"


def middleware_chain(
    runtime: Runtime,
    *,
    guards_on: bool,
    observe: bool,
    deprecations: Deprecations = DEPRECATED_ROUTES,
) -> list[Middleware]:
    """The HTTP middleware after telemetry, in registration order (outermost first)."""
    chain = [
        middleware.request_context(
            access_log.record_request if observe else None,
            runtime.settings.request_time_budget_seconds,
        )
    ]
    if deprecations:
        chain.append(middleware.deprecation_headers(deprecations))
    chain.append(middleware.authenticate(runtime))
    if guards_on:
        chain += [
            guards.ip_allowlist(runtime),
            guards.request_signature(runtime),
            guards.rate_limit(runtime),
        ]
    return chain


def create_app(
    runtime: Runtime,
    *,
    guards: bool = True,
    observe: bool = True,
    deprecations: Deprecations = DEPRECATED_ROUTES,
    dashboard_dir: Path = dashboard.STATIC_DIR,
) -> Chalice:
    """The app; ``deprecations`` (default: ``api/deprecations.py``'s) marks deprecated routes;
    ``dashboard_dir`` is where the dashboard's build is read from (tests give their own)."""
    # configure_logs=False: Chalice would add its own plain-text handler to the logger named
    # after the app, which is the service logger (JSON, observability/logging.py) whenever
    # that logger writes anywhere but stdout (a test capturing it, a benchmark writing a file).
    app = Chalice(app_name=APP_NAME, configure_logs=False)
    set_level(runtime.settings.log_level)
    telemetry.install()
    metrics_config = runtime.metrics if observe else metrics.DISABLED
    app.register_middleware(
        ConvertToMiddleware(telemetry.observe_invocation(metrics_config)), "http"
    )
    chain = middleware_chain(runtime, guards_on=guards, observe=observe, deprecations=deprecations)
    for handler in chain:
        app.register_middleware(handler, "http")
    app.register_blueprint(public_routes.blueprint(runtime, deprecations))
    app.register_blueprint(bulk.blueprint(runtime))  # literal /v1/events/bulk routes
    app.register_blueprint(events.blueprint(runtime))
    app.register_blueprint(analytics.blueprint(runtime))
    app.register_blueprint(api_keys.blueprint(runtime))
    app.register_blueprint(webhooks.blueprint(runtime))
    app.register_blueprint(dashboard.blueprint(dashboard_dir))
    unknown = sorted(
        f"{method} {path}"
        for method, path in deprecations
        if method not in app.routes.get(path, {})
    )
    if unknown:
        raise ValueError(f"deprecated routes the app does not have: {', '.join(unknown)}")
    return app
