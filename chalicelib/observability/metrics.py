"""CloudWatch metrics as Embedded Metric Format (EMF) documents: no PutMetricData on any path.

Anything in a request records a metric with one call::

    from chalicelib.observability.metrics import record_metric

    record_metric("RateLimited", "Count", 1)
    record_metric("ApiErrorCount", "Count", 1, error_code="rate_limited")

Inside a :func:`request_scope` (the HTTP app opens one per request, the stream handler one per
batch) the samples are collected in a context variable, so concurrent requests served on threads
by ``chalice local`` never see each other's metrics, and written when the scope ends, to the
scope's :class:`MetricsConfig` (namespace and sink; whoever opens the scope passes it in: there
is no process-wide setting to change). Outside any scope (scripts) a sample is written at once
with :data:`DEFAULT`: the namespace from the environment, stdout.

Each distinct set of dimensions becomes one EMF document (built by Powertools'
``EphemeralMetrics``, which keeps no state shared between instances) with two dimension sets:
``[service]`` (the roll-up the alarms use) and ``[service, *dimensions]``. A document is one JSON
line on stdout, which Lambda sends to CloudWatch Logs, where EMF turns it into metrics in the
namespace ``POWERTOOLS_METRICS_NAMESPACE`` (``TriggersAPI/<stage>``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from chalicelib.observability.logging import SERVICE, logger

NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
DEFAULT_NAMESPACE = "TriggersAPI/local"
_UNITS = frozenset(unit.value for unit in MetricUnit)

Sink = Callable[[str], None]

_write_lock = threading.Lock()


def stdout_sink(line: str) -> None:
    """Write one whole line in a single call, so lines of concurrent requests never interleave."""
    with _write_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


@dataclass(frozen=True)
class MetricsConfig:
    """Where a scope's metrics go. ``enabled=False`` writes nothing (the overhead benchmark's
    "off" app)."""

    namespace: str
    service: str = SERVICE
    sink: Sink = stdout_sink
    enabled: bool = True

    @classmethod
    def from_environment(cls) -> MetricsConfig:
        return cls(namespace=os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE)


DEFAULT = MetricsConfig.from_environment()
DISABLED = MetricsConfig(namespace=DEFAULT_NAMESPACE, enabled=False)


@dataclass(frozen=True)
class Sample:
    name: str
    unit: str
    value: float
    dimensions: tuple[tuple[str, str], ...]


@dataclass
class MetricBatch:
    """The metrics of one request (or one handler invocation), and where they go."""

    config: MetricsConfig = DEFAULT
    samples: list[Sample] = field(default_factory=list)

    def add(self, sample: Sample) -> None:
        self.samples.append(sample)

    def documents(self) -> list[dict[str, Any]]:
        """One EMF document per distinct dimension set, in first-recorded order."""
        config = self.config
        groups: dict[tuple[tuple[str, str], ...], list[Sample]] = {}
        for sample in self.samples:
            groups.setdefault(sample.dimensions, []).append(sample)
        timestamp = int(time.time() * 1000)
        return [
            emf_document(config.namespace, config.service, dimensions, samples, timestamp)
            for dimensions, samples in groups.items()
        ]


# Beyond these a document is built by Powertools itself (which splits or refuses it); no request
# comes near them.
_MAX_METRICS = 100
_MAX_DIMENSIONS = 29


def emf_document(
    namespace: str,
    service: str,
    dimensions: tuple[tuple[str, str], ...],
    samples: list[Sample],
    timestamp: int,
) -> dict[str, Any]:
    """The EMF document Powertools' ``EphemeralMetrics`` serializes for ``samples`` (one
    dimension set): the same keys, order and values, built directly. A request writes a few of
    these, and a Powertools provider per document cost more CPU than the rest of the access log
    (tests/unit/test_metrics.py holds the two byte-identical)."""
    names: dict[str, list[float]] = {}
    units: dict[str, str] = {}
    for sample in samples:
        existing = names.get(sample.name)
        if existing is None:
            names[sample.name] = [sample.value]
            units[sample.name] = sample.unit
        else:
            existing.append(sample.value)
    if len(names) >= _MAX_METRICS or len(dimensions) >= _MAX_DIMENSIONS:
        return _powertools_document(namespace, service, dimensions, samples, timestamp)
    dimension_sets = [["service"]]
    values: dict[str, Any] = {"service": service}
    if dimensions:
        dimension_sets.append(["service", *(name for name, _ in dimensions if name != "service")])
        values.update(dimensions)
        values["service"] = service
    return {
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": dimension_sets,
                    "Metrics": [{"Name": name, "Unit": units[name]} for name in names],
                }
            ],
        },
        **values,
        **names,
    }


def _powertools_document(
    namespace: str,
    service: str,
    dimensions: tuple[tuple[str, str], ...],
    samples: list[Sample],
    timestamp: int,
) -> dict[str, Any]:
    emf = EphemeralMetrics(namespace=namespace, service=service)
    for sample in samples:
        emf.add_metric(name=sample.name, unit=sample.unit, value=sample.value)
    if dimensions:
        emf.add_dimensions(service=service, **dict(dimensions))
    emf.set_timestamp(timestamp)
    return dict(emf.serialize_metric_set())


_current: ContextVar[MetricBatch | None] = ContextVar("triggers_metrics", default=None)


def _sample(name: str, unit: str, value: float, dimensions: dict[str, Any]) -> Sample:
    if unit not in _UNITS:
        raise ValueError(f"unknown CloudWatch unit {unit!r}")
    if not name or len(name) > 255:
        raise ValueError(f"metric name {name!r} must be 1-255 characters")
    dims = tuple(sorted((str(k), str(v)) for k, v in dimensions.items() if str(v)))
    return Sample(name, unit, float(value), dims)


def record_metric(name: str, unit: str = "Count", value: float = 1, **dimensions: Any) -> None:
    """Record one sample: into the current scope's batch, or written at once outside one.

    ``unit`` is a CloudWatch unit name (``"Count"``, ``"Milliseconds"``, ...); an unknown one
    raises ``ValueError`` here, where the caller's bug is, not when the batch is written.
    Keep dimension values low-cardinality (route templates, error codes; never ids).
    """
    sample = _sample(name, unit, value, dimensions)
    batch = _current.get()
    if batch is not None:
        batch.add(sample)
        return
    single = MetricBatch(DEFAULT)
    single.add(sample)
    flush(single)


def flush(batch: MetricBatch) -> None:
    """Write the batch's documents; never raises (metrics must not fail a request)."""
    config = batch.config
    if not config.enabled or not batch.samples:
        return
    try:
        for doc in batch.documents():
            config.sink(json.dumps(doc, separators=(",", ":")))
    except Exception:  # noqa: BLE001 - a metrics bug must not turn a response into a 500
        logger.exception("metrics flush failed")


@contextmanager
def request_scope(config: MetricsConfig = DEFAULT) -> Iterator[MetricBatch]:
    """Collect the metrics recorded inside (this thread/context only) and write them to
    ``config`` at exit."""
    batch = MetricBatch(config)
    token = _current.set(batch)
    try:
        yield batch
    finally:
        _current.reset(token)
        flush(batch)
