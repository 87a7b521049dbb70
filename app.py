"""Triggers API: wiring only. Everything it registers lives in chalicelib/."""

from chalicelib.api.application import create_app
from chalicelib.runtime import Runtime
from chalicelib.settings import load_settings

runtime = Runtime.build(load_settings())
app = create_app(runtime)
