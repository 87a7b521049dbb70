"""The API's typed models (pydantic v2), generated from its OpenAPI document into ``_models``
by ``sdks/python/codegen.sh``: ``Event``, ``InboxPage``, ``ApiKeyOut``, ``WebhookOut``, ..."""

from ._models import *  # noqa: F403
