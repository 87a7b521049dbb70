"""Build the Chalice application around a :class:`Runtime` (app.py and in-process tests)."""

from __future__ import annotations

from chalice.app import Chalice, ConvertToMiddleware

from chalicelib.api import analytics, bulk, events, middleware, observability, service
from chalicelib.observability.logging import set_level
from chalicelib.runtime import Runtime

APP_NAME = "triggers-api"


def create_app(runtime: Runtime) -> Chalice:
    app = Chalice(app_name=APP_NAME)
    set_level(runtime.settings.log_level)
    observability.install()
    app.register_middleware(ConvertToMiddleware(observability.observe_invocation), "http")
    for handler in middleware.chain(runtime):
        app.register_middleware(handler, "http")
    app.register_blueprint(service.blueprint(runtime))
    app.register_blueprint(bulk.blueprint(runtime))  # literal /v1/events/bulk routes
    app.register_blueprint(events.blueprint(runtime))
    app.register_blueprint(analytics.blueprint(runtime))
    return app
