"""Triggers API: wiring only. Everything it registers lives in chalicelib/."""

from chalice.app import Chalice

from chalicelib.api import events, middleware, service
from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings

runtime = Runtime.build(load_settings())

app = Chalice(app_name="triggers-api")
app.api.cors = False

for handler in middleware.chain(runtime):
    app.register_middleware(handler, "http")

app.register_blueprint(service.blueprint(runtime))
app.register_blueprint(events.blueprint(runtime))
