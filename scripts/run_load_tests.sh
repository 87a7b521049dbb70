#!/usr/bin/env bash
# Run one load scenario against a fresh local stack and judge it against the targets.
#
#   scripts/run_load_tests.sh event_ingestion|inbox_polling|mixed_workload|stress [SECONDS]
#
# Starts a private stack (fresh in-memory DynamoDB Local + dev server, free loopback ports) unless
# PERF_HOST names a running one, runs Locust headless, prints the table against the targets,
# stops what it started, exits 1 on a miss. PERF_REPEAT=3 judges the median of three runs;
# PERF_USERS overrides the concurrency; PERF_BIG_PENDING the inbox's big tenant (100000).
# Results (Locust CSV, JSON summaries, logs): perf/results/<scenario>-<time>/. See docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/bootstrap.sh
exec .venv/bin/python -m perf.runner "$@"
