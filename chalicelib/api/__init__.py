"""HTTP layer: blueprints and middleware. Thin: parse, call a service, shape the response."""
