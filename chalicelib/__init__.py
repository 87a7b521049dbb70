"""Triggers API: event ingestion, inbox polling and webhook delivery on Chalice + DynamoDB."""

__version__ = "0.1.0"
