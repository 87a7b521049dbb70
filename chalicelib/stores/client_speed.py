"""Less CPU per DynamoDB call: botocore's per-call work that gives the same answer every time.

Profiled (``PROFILE_CPU=1 python -m perf.profile_api``, botocore 1.44.5), a ``POST /v1/events``
spends ~80 % of its CPU inside botocore's two calls (the rate limiter's UpdateItem and the
PutItem). Two parts of that redo fixed work on every call:

* **The User-Agent header** is rebuilt from its ~16 components twice per call (once when the
  request dict is made, once more in a ``request-created`` handler, each component sanitized
  character by character): ~12 % of a create's CPU. It only changes with the feature ids in
  effect (the client's and the call context's), so :func:`cache_user_agent` keeps one string per
  feature set: the header is byte-identical.
* **Parameter validation** walks every attribute of every item (~8 % of a create, ~43 % of a
  bulk create of 25: BatchWriteItem's 25 items of ~15 attributes). It is client-side only: with
  it off, a request DynamoDB can parse but rejects comes back as its ``ValidationException``
  (``translate_errors`` reports it like any client error), and one botocore cannot even
  serialize (a ``None`` where a map belongs) raises from the serializer (``TypeError``,
  ``AttributeError``), which ends as a 500 ``internal_error`` in the envelope. Only a bug can
  do that: our stores build every request from typed code and requests are validated at the
  edge first. :func:`client_config_options` is the same switch as a ``Config`` option.

:func:`tune` applies both to a built client; ``stores/aws.py``'s ``dynamodb_client`` calls it on
every DynamoDB client. The User-Agent cache touches botocore's ``UserAgentString`` object of
the client (a private attribute, pinned botocore in requirements.txt;
tests/unit/test_client_speed.py checks the header is unchanged and breaks if botocore's shape
moves).
"""

from __future__ import annotations

from typing import Any

from botocore.context import get_context
from botocore.useragent import UserAgentString
from botocore.validate import ParamValidationDecorator


class CachedUserAgentString(UserAgentString):
    """A ``UserAgentString`` that builds its header once per set of feature ids."""

    _speed_cache: dict[frozenset[str], str]

    def to_string(self) -> str:
        ctx = get_context()
        key = frozenset(getattr(self, "_client_features", None) or ()) | frozenset(
            () if ctx is None else ctx.features
        )
        try:
            cache = self._speed_cache
        except AttributeError:
            cache = self._speed_cache = {}
        value = cache.get(key)
        if value is None:
            value = cache[key] = super().to_string()
        return value


def cache_user_agent(client: Any) -> None:
    """Build the client's User-Agent once per feature set (idempotent). The client's handler
    that rebuilds the header before each send is a bound method of the same object, so it uses
    the cache too."""
    creator = getattr(client, "_user_agent_creator", None)
    if creator is None or isinstance(creator, CachedUserAgentString):
        return
    if type(creator) is not UserAgentString:
        return  # someone else's subclass: leave it alone
    creator.__class__ = CachedUserAgentString


def client_config_options() -> dict[str, Any]:
    """Extra ``botocore.config.Config`` options for our clients."""
    return {"parameter_validation": False}


def skip_parameter_validation(client: Any) -> None:
    """``parameter_validation=False`` for an already built client (idempotent)."""
    serializer = getattr(client, "_serializer", None)
    if isinstance(serializer, ParamValidationDecorator):
        client._serializer = getattr(serializer, "_serializer")  # noqa: B009 - private


def tune(client: Any) -> Any:
    """Both of the above; returns the client."""
    cache_user_agent(client)
    skip_parameter_validation(client)
    return client
