"""Cold start: what ``import app`` costs the Lambda's init phase, and what the first request adds.

.venv/bin/python -m perf.cold_start [--runs 7] [--json out.json]

Each run is a fresh ``python -X importtime -c "import app"`` in the dev stage's Lambda
environment (``.chalice/config.json``'s, as Chalice applies it; every CloudFormation
``{{resolve:...}}`` reference replaced by a dummy secret of realistic length), region us-east-1,
dummy credentials, no AWS config files, no endpoint overrides, and instance metadata disabled:
importing must not call anything. From its ``-X importtime`` lines:

* ``app_ms``: the cumulative time of the ``app`` module;
* ``botocore_ms``: the outermost ``boto3``/``botocore``/``s3transfer`` imports below it (the AWS
  SDK chain, urllib3 and the rest included as their children);
* ``module_level_ms``: ``app``'s own (self) time, i.e. app.py's module-level work outside
  imports: building the Runtime and the Chalice app.

Bytecode: children write and read ``.pyc`` files under a private ``PYTHONPYCACHEPREFIX`` that one
unmeasured run warms first, so every measured run reads warm bytecode whatever the checkout's
``__pycache__`` state or ``PYTHONDONTWRITEBYTECODE`` (compilation is left out: it is the same
per module, and a package can ship compiled files).

Reference: the same runs interleave a child that imports ``REFERENCE_IMPORTS`` (botocore's session
and client machinery, Chalice's app module, pydantic's ``BaseModel`` and a few stdlib modules the
service leans on). Those are third-party and stdlib modules the app depends on but does not
write: their import cost follows the machine (CPU speed, disk cache, load, Python version) and
the pinned dependencies, never our code. ``ratio = app_ms / reference_ms`` is a same-run figure
the perf gate can hold against a baseline the way it holds its other ratios; ``cold_ratio`` does
the same for the import plus the first request (``cold_total_ms``), so that work moved from the
import to the first request cannot pass unnoticed.

First request: a further child per run imports app (untimed here) and then times the first and
second ``GET /v1/health`` through the Lambda handler (``app.app(event, context)`` with an API
Gateway proxy event), DynamoDB being a stub HTTP server in this process that answers every call
with ``{}`` (GetItem: "not found", which health counts as the table answering). The first call
includes whatever the import deferred (the AWS clients, the modules health needs); the second is
the warm cost for comparison. After the requests, that child also times the first import of the
modules only rarely used routes load (``LAZY_ROUTE_MODULES``: ``route_modules_ms``) and the
first build of the services off the common path (``LAZY_SERVICES``: ``services_ms``), what the
first analytics, admin, bulk or webhook request, or the first stream batch, adds.

:func:`measure` returns the medians as a dict (the perf gate calls it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
STAGE = "dev"
DUMMY_SECRET = "cold-start-dummy-secret-0123456789abcdef0123456789"  # 50 chars
RESOLVE = re.compile(r"\{\{resolve:[^}]*\}\}")
SDK_ROOTS = frozenset({"boto3", "botocore", "s3transfer"})
REFERENCE_IMPORTS = (
    "json",
    "decimal",
    "http.client",
    "logging",
    "botocore.session",
    "botocore.client",
    "chalice.app",
    "pydantic.main",
)
REFERENCE_CODE = "import " + ", ".join(REFERENCE_IMPORTS)
# What the import defers to first use: the modules of rarely used routes (their pydantic models,
# the OpenAPI document) and the Runtime's services off the common HTTP path (importing app must
# load or build none of them: tests/unit/test_cold_start.py). The first-request child times both.
LAZY_ROUTE_MODULES = (
    "chalicelib.api.models.analytics",
    "chalicelib.api.models.api_keys",
    "chalicelib.api.models.bulk",
    "chalicelib.api.models.webhooks",
    "chalicelib.api.openapi",
)
LAZY_SERVICES = (
    "analytics",
    "stream_ingest",
    "bulk",
    "webhooks",
    "webhook_fanout",
    "webhook_delivery",
)
RESULT_MARK = "COLD_START_RESULT "
_LINE = re.compile(r"^import time:\s*(\d+)\s*\|\s*(\d+)\s*\|( *)(\S+)\s*$")


@dataclass(frozen=True)
class ImportLine:
    self_us: int
    cumulative_us: int
    depth: int
    name: str


def parse_importtime(text: str) -> list[ImportLine]:
    """The ``-X importtime`` lines of ``text`` (stderr), in their order (children first)."""
    lines = []
    for raw in text.splitlines():
        match = _LINE.match(raw)
        if match is None:
            continue
        self_us, cumulative_us, indent, name = match.groups()
        # One space follows the bar, then two per nesting level.
        depth = max(len(indent) - 1, 0) // 2
        lines.append(ImportLine(int(self_us), int(cumulative_us), depth, name))
    return lines


def subtree(lines: list[ImportLine], root: str) -> tuple[ImportLine, list[ImportLine]]:
    """The top-level import ``root`` and the imports made below it (children come first)."""
    for index, line in enumerate(lines):
        if line.depth == 0 and line.name == root:
            start = index
            while start > 0 and lines[start - 1].depth > 0:
                start -= 1
            return line, lines[start:index]
    raise ValueError(f"no top-level import of {root!r} in the importtime output")


def outermost(lines: list[ImportLine], roots: frozenset[str]) -> list[ImportLine]:
    """The imports of a package in ``roots`` that no other such import encloses."""
    found: list[ImportLine] = []
    enclosing_depth: int | None = None  # post-order: a parent follows its children
    for line in reversed(lines):
        if enclosing_depth is not None and line.depth > enclosing_depth:
            continue
        enclosing_depth = None
        if line.name.split(".", 1)[0] in roots:
            found.append(line)
            enclosing_depth = line.depth
    return found


def app_figures(text: str) -> dict[str, float]:
    """``app_ms``, ``botocore_ms`` and ``module_level_ms`` of one ``import app``."""
    app, below = subtree(parse_importtime(text), "app")
    sdk = sum(line.cumulative_us for line in outermost(below, SDK_ROOTS))
    return {
        "app_ms": app.cumulative_us / 1000,
        "botocore_ms": sdk / 1000,
        "module_level_ms": app.self_us / 1000,
    }


def reference_ms(text: str) -> float:
    """The summed cumulative time of the reference child's top-level imports."""
    lines = parse_importtime(text)
    wanted = set(REFERENCE_IMPORTS)
    total = sum(line.cumulative_us for line in lines if line.depth == 0 and line.name in wanted)
    return total / 1000


def lambda_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The dev stage's Lambda environment with dummy secrets and credentials, nothing else of
    this shell's (no AWS profile, endpoint override or Python path leaks in)."""
    from devstack.stage_env import stage_environment

    env = {
        name: RESOLVE.sub(DUMMY_SECRET, value) for name, value in stage_environment(STAGE).items()
    }
    env.update(
        {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "STAGE": STAGE,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS_SESSION_TOKEN": "cold-start-dummy-session-token-0123456789",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    env.update(extra or {})
    return env


def _run(
    code: str, env: Mapping[str, str], importtime: bool = True, root: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    flags = ["-X", "importtime"] if importtime else []
    done = subprocess.run(
        [str(PYTHON), *flags, "-c", code],
        cwd=root,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}): {code!r}\n{done.stderr[-3000:]}")
    return done


# The first-request child: import app, then two GET /v1/health through the Lambda handler, then
# the first import of the modules rarely used routes load. Prints one JSON line.
FIRST_REQUEST_CODE = """
import importlib, json, sys, time
import app
event = {
    "resource": "/v1/health", "path": "/v1/health", "httpMethod": "GET",
    "headers": {"Host": "example.invalid", "User-Agent": "cold-start"},
    "multiValueHeaders": {}, "queryStringParameters": None,
    "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
    "requestContext": {"resourcePath": "/v1/health", "httpMethod": "GET", "path": "/v1/health",
                       "requestId": "cold-start", "identity": {"sourceIp": "192.0.2.1"},
                       "stage": "api"},
    "body": None, "isBase64Encoded": False,
}
class Context:
    function_name = "triggers-api-dev"; aws_request_id = "cold-start"; memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:triggers-api-dev"
    def get_remaining_time_in_millis(self): return 29000
times = []
for _ in range(2):
    start = time.perf_counter()
    response = app.app(event, Context())
    times.append((time.perf_counter() - start) * 1000)
    assert response["statusCode"] == 200, response
each = {}
for name in MODULES:  # in this order: a later module finds the models it shares loaded
    start = time.perf_counter()
    importlib.import_module(name)
    each[name] = (time.perf_counter() - start) * 1000
modules = sum(each.values())
try:
    from chalicelib.lazy import force
except ImportError:  # a checkout that builds every service at import
    force = lambda obj: obj
start = time.perf_counter()
for name in SERVICES:
    force(getattr(app.runtime, name))
services = (time.perf_counter() - start) * 1000
print(MARK + json.dumps({"first_ms": times[0], "second_ms": times[1],
                         "route_modules_ms": modules, "services_ms": services,
                         **{"import_ms " + name: ms for name, ms in each.items()}}))
"""


def _first_request_code() -> str:
    return (
        f"MODULES = {LAZY_ROUTE_MODULES!r}\nSERVICES = {LAZY_SERVICES!r}\n"
        f"MARK = {RESULT_MARK!r}\n{FIRST_REQUEST_CODE}"
    )


def first_request_figures(stdout: str) -> dict[str, float]:
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return {k: float(v) for k, v in json.loads(line[len(RESULT_MARK) :]).items()}
    raise ValueError("the first-request child printed no result")


class _DynamoDBStub(BaseHTTPRequestHandler):
    """Every DynamoDB call answers ``{}`` with its CRC-32 (GetItem: no item)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF))
        self.send_header("x-amzn-RequestId", "cold-start")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass


@contextmanager
def dynamodb_stub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DynamoDBStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _median(samples: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def measure(runs: int = 7, root: Path = ROOT) -> dict[str, Any]:
    """Median figures over ``runs`` interleaved runs (import of app, reference, first request).

    ``root``: the checkout whose ``app`` is imported (its directory comes first on the child's
    path, ahead of this virtualenv's editable install): another commit extracted elsewhere
    can be measured with this checkout's tool and interpreter."""
    with tempfile.TemporaryDirectory(prefix="cold-start-pyc-") as pyc, dynamodb_stub() as endpoint:
        cache = {"PYTHONPYCACHEPREFIX": pyc}
        env = lambda_environment(cache)
        request_env = lambda_environment({**cache, "AWS_ENDPOINT_URL_DYNAMODB": endpoint})
        request_code = _first_request_code()
        # Warm the private bytecode cache (every module any child imports), unmeasured.
        _run("import app", env, root=root)
        _run(REFERENCE_CODE, env, root=root)
        _run(request_code, request_env, importtime=False, root=root)
        imports, references, requests = [], [], []
        for _ in range(runs):
            imports.append(app_figures(_run("import app", env, root=root).stderr))
            references.append(reference_ms(_run(REFERENCE_CODE, env, root=root).stderr))
            done = _run(request_code, request_env, importtime=False, root=root)
            requests.append(first_request_figures(done.stdout))
    result: dict[str, Any] = {"runs": runs, **_median(imports)}
    result["reference_ms"] = statistics.median(references)
    result["ratio"] = result["app_ms"] / result["reference_ms"]
    first = _median(requests)
    result["first_request_ms"] = first["first_ms"]
    result["second_request_ms"] = first["second_ms"]
    # What a cold start's first request waits for in all: the import and the request itself
    # (work deferred from the import to the first request shows here, not in ``ratio``).
    result["cold_total_ms"] = result["app_ms"] + result["first_request_ms"]
    result["cold_ratio"] = result["cold_total_ms"] / result["reference_ms"]
    result["route_modules_ms"] = first["route_modules_ms"]
    result["services_ms"] = first["services_ms"]
    result["route_module_ms"] = {name: first[f"import_ms {name}"] for name in LAZY_ROUTE_MODULES}
    result["loadavg"] = list(os.getloadavg())
    return result


ROWS = (
    ("import app (cumulative)", "app_ms"),
    ("  botocore/boto3 chain", "botocore_ms"),
    ("  app.py module-level (self)", "module_level_ms"),
    ("reference imports", "reference_ms"),
    ("first GET /v1/health after import", "first_request_ms"),
    ("second GET /v1/health", "second_request_ms"),
    ("import + first GET /v1/health", "cold_total_ms"),
    ("then: import the lazy route modules", "route_modules_ms"),
    ("then: build the lazy services", "services_ms"),
)


def table(result: Mapping[str, Any]) -> str:
    lines = [f"{'median of ' + str(result['runs']) + ' runs':38} {'ms':>9}"]
    for label, key in ROWS:
        lines.append(f"{label:38} {result[key]:9.1f}")
        if key == "route_modules_ms":
            for name, ms in result["route_module_ms"].items():
                lines.append(f"{'  ' + name.removeprefix('chalicelib.'):38} {ms:9.1f}")
    lines.append(f"{'ratio app / reference':38} {result['ratio']:9.3f}")
    lines.append(f"{'ratio (import + first) / reference':38} {result['cold_ratio']:9.3f}")
    lines.append(
        f"{'load average (1, 5, 15 min)':38} " + " ".join(f"{x:.2f}" for x in result["loadavg"])
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the checkout to measure (default: this one)"
    )
    args = parser.parse_args(argv)
    result = measure(args.runs, args.root.resolve())
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
