"""Use cases. Services take stores and pure domain logic; they raise :mod:`chalicelib.errors`."""
