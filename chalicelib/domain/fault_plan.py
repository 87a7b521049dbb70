"""What the chaos suite asks the local stage's DynamoDB fault hook to inject (pure logic).

The suite writes a JSON file (``CHAOS_FAULTS_FILE``, refused outside the ``local`` stage) such
as::

    {"dynamodb": {"error": "ThrottlingException", "probability": 0.5,
                  "operations": ["PutItem", "TransactWriteItems"]}}

``operations`` is optional (default: every operation). An empty object, ``{"dynamodb": {}}``,
or no file at all means no fault. Anything else that is not a valid plan raises
:class:`InvalidFaultPlan`; the hook (``stores/fault_injection.py``) then injects nothing and
logs a warning: a broken plan never breaks the API.

:func:`decide` is the per-attempt choice, with the random source passed in.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

# The errors DynamoDB answers when it throttles or fails, with the HTTP status it uses.
FAULT_STATUS: dict[str, int] = {
    "ProvisionedThroughputExceededException": 400,
    "ThrottlingException": 400,
    "RequestLimitExceeded": 400,
    "InternalServerError": 500,
    "ServiceUnavailable": 503,
}


class InvalidFaultPlan(ValueError):
    """The file's content is not a fault plan; the message says what is wrong."""


@dataclass(frozen=True)
class FaultPlan:
    """Inject ``error`` into a DynamoDB attempt with ``probability``, on ``operations`` only
    (``None``: every operation). ``error is None`` is the plan that injects nothing."""

    error: str | None = None
    probability: float = 0.0
    operations: frozenset[str] | None = None

    @property
    def status(self) -> int:
        return FAULT_STATUS[self.error] if self.error is not None else 200


NO_FAULT = FaultPlan()


def parse_fault_plan(text: str) -> FaultPlan:
    """The plan the file's text describes; :class:`InvalidFaultPlan` if it describes none."""
    if not text.strip():
        return NO_FAULT
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InvalidFaultPlan(f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidFaultPlan("the document must be a JSON object")
    unknown = set(document) - {"dynamodb"}
    if unknown:
        raise InvalidFaultPlan(f"unknown keys {sorted(unknown)}; only 'dynamodb' is known")
    spec = document.get("dynamodb", {})
    if not isinstance(spec, dict):
        raise InvalidFaultPlan("'dynamodb' must be an object")
    if not spec:
        return NO_FAULT
    unknown = set(spec) - {"error", "probability", "operations"}
    if unknown:
        raise InvalidFaultPlan(f"unknown dynamodb keys {sorted(unknown)}")
    error = spec.get("error")
    if error not in FAULT_STATUS:
        raise InvalidFaultPlan(f"'error' must be one of {sorted(FAULT_STATUS)}, got {error!r}")
    probability = spec.get("probability")
    if (
        isinstance(probability, bool)
        or not isinstance(probability, int | float)
        or not math.isfinite(probability)
        or not 0.0 <= probability <= 1.0
    ):
        raise InvalidFaultPlan(f"'probability' must be a number from 0 to 1, got {probability!r}")
    operations = spec.get("operations")
    if operations is not None:
        if not isinstance(operations, list) or not all(
            isinstance(op, str) and op for op in operations
        ):
            raise InvalidFaultPlan("'operations' must be a list of operation names")
        return FaultPlan(str(error), float(probability), frozenset(operations))
    return FaultPlan(str(error), float(probability))


def decide(plan: FaultPlan, operation: str, random: Callable[[], float]) -> str | None:
    """The error to inject into this attempt of ``operation``, or None. ``random`` returns a
    float in [0, 1) (``random.Random().random``); it is only drawn when the plan could fire, so
    probability 1 always fires and 0 never does."""
    if plan.error is None or plan.probability <= 0.0:
        return None
    if plan.operations is not None and operation not in plan.operations:
        return None
    if plan.probability >= 1.0 or random() < plan.probability:
        return plan.error
    return None
