#!/usr/bin/env bash
# Regenerates models.gen.go from ../openapi.json into OUT_DIR (scripts/sdk_codegen.py calls it
# with cwd sdks/go; `make sdks-generate` writes in place, `--check` diffs a temporary copy).
# The generator is oapi-codegen, pinned by tools/go.mod (a module of its own, so the SDK's users
# never inherit it). Deterministic: no timestamps, gofmt'ed.
set -euo pipefail
out_dir="${1:?usage: codegen.sh OUT_DIR}"
export GOTOOLCHAIN=local GOFLAGS=-modcacherw
mkdir -p "$out_dir"
here="$(cd "$(dirname "$0")" && pwd)"
out_abs="$(cd "$out_dir" && pwd)"
(cd "$here/tools" && go tool oapi-codegen -config "$here/oapi-codegen.yaml" \
  -o "$out_abs/models.gen.go" "$here/../openapi.json")
gofmt -w "$out_abs/models.gen.go"
