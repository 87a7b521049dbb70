"""Adapters from what AWS delivers to the handlers into domain values (the Lambda event
shapes that are not a store's business)."""
