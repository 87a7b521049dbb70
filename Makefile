# Triggers API — developer entry points. `make run` and `make test` install what is missing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAGE ?= dev
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help bootstrap run test test-unit test-integration test-e2e test-sdks sdks-generate lint bench perf-gate perf-targets chaos chaos-ci package clean

help:
	@echo "make run        start the local stack (DynamoDB Local, tables, dev key, API on :8000, workers)"
	@echo "make test       lint, package check and the whole test suite"
	@echo "make test-sdks  the Python, TypeScript and Go SDKs' suites against a local stack of their own"
	@echo "make sdks-generate  write sdks/openapi.json and regenerate every SDK's models from it"
	@echo "make lint       ruff + mypy"
	@echo "make bench      pytest-benchmark micro-benchmarks (saves JSON under .benchmarks/)"
	@echo "make perf-gate  CI gate: same-run ratios (benchmarks, API vs raw engine) vs perf/baseline.json, webhook delivery smoke"
	@echo "make perf-targets  the absolute latency targets, on a quiet machine (45 s load smoke)"
	@echo "make chaos      every chaos experiment (EXPERIMENT=ddb-latency for one); reports in chaos/reports"
	@echo "make chaos-ci   the short chaos set CI runs (latency, reset_peer, storage down, throttling; throttling again on LocalStack)"
	@echo "make package    chalice package STAGE=$(STAGE) + cfn-lint"
	@echo "make clean      remove build output and caches"

bootstrap:
	@bash scripts/bootstrap.sh

run: bootstrap
	@$(PY) scripts/run_local_stack.py

test: bootstrap
	@$(PY) -m ruff check . && $(PY) -m ruff format --check . && $(PY) -m mypy
	@$(MAKE) --no-print-directory package STAGE=dev
	@$(PY) scripts/sdk_codegen.py --check
	@$(MAKE) --no-print-directory test-sdks
	@$(PY) -m pytest -n 2 --dist loadgroup -p no:cacheprovider \
		--cov --cov-report=term --cov-report=json:build/coverage.json
	@$(PY) scripts/coverage_floor.py build/coverage.json

test-unit: bootstrap
	@$(PY) -m pytest tests/unit

test-integration: bootstrap
	@$(PY) -m pytest tests/integration

test-e2e: bootstrap
	@$(PY) -m pytest tests/e2e

test-sdks: bootstrap
	@$(PY) scripts/sdk_stack.py

sdks-generate: bootstrap
	@$(PY) scripts/sdk_codegen.py

lint: bootstrap
	@$(PY) -m ruff check . && $(PY) -m ruff format --check . && $(PY) -m mypy

bench: bootstrap
	@$(PY) -m pytest perf/bench -m perf --benchmark-only --benchmark-autosave --benchmark-columns=min,median,mean,max,ops

perf-gate: bootstrap
	@$(PY) scripts/perf_gate.py

perf-targets: bootstrap
	@$(PY) -m perf.runner smoke 45

chaos: bootstrap
	@$(PY) -m chaos $(EXPERIMENT)

chaos-ci: bootstrap
	@$(PY) -m chaos --ci
	@bash scripts/install_localstack.sh
	@$(PY) -m pytest -q -p no:cacheprovider tests/integration/test_localstack_backend.py
	@$(PY) -m chaos --localstack ddb-throttling

package: bootstrap
	@$(PY) scripts/package_stack.py --stage $(STAGE)
	@$(VENV)/bin/cfn-lint build/$(STAGE)/sam.json && echo "cfn-lint: build/$(STAGE)/sam.json passes"

clean:
	rm -rf build .mypy_cache .ruff_cache .pytest_cache .hypothesis .run perf/results chalicelib/dashboard_static
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
