"""Pydantic v2 models of the HTTP edge: query strings, bulk bodies and every public response.

The event create body (``EventCreate``) is a domain rule set and lives in
``chalicelib/domain/events.py``; the OpenAPI component schemas are generated from all of them
(``chalicelib/api/openapi.py``).
"""
