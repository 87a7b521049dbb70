"""scripts/sdk_codegen.py: the drift check `make test` runs fails when the committed OpenAPI
document or any SDK's committed generated files differ from what regenerating gives, and passes
when they match. A fake SDK's codegen.sh stands in for the real generators here (those run, for
real, in `make test`'s own `sdk_codegen.py --check`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts import sdk_codegen

GENERATOR = """#!/usr/bin/env bash
set -euo pipefail
out="$1"
mkdir -p "$out/src"
# the "models": one line per path of the document beside this directory
python3 -c 'import json; print("\\n".join(sorted(json.load(open("../openapi.json"))["paths"])))' \\
  > "$out/src/models.txt"
"""
DOCUMENT = json.dumps({"openapi": "3.0.3", "paths": {"/v1/a": {}, "/v1/b": {}}})


@pytest.fixture
def sdks(tmp_path: Path) -> Path:
    (tmp_path / "openapi.json").write_text(DOCUMENT)
    fake = tmp_path / "fake"
    (fake / "src").mkdir(parents=True)
    (fake / "codegen.sh").write_text(GENERATOR)
    (fake / "src" / "models.txt").write_text("/v1/a\n/v1/b\n")
    return tmp_path


def test_current_models_and_document_pass(sdks: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sdk_codegen.check(("fake",), sdks, DOCUMENT) == 0
    assert "are current" in capsys.readouterr().out


def test_a_stale_generated_file_fails_with_its_diff(
    sdks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (sdks / "fake" / "src" / "models.txt").write_text("/v1/a\n")
    assert sdk_codegen.check(("fake",), sdks, DOCUMENT) == 1
    out = capsys.readouterr().out
    assert "sdks/fake/src/models.txt" in out
    assert "+/v1/b" in out
    assert "make sdks-generate" in out


def test_a_missing_generated_file_fails(sdks: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (sdks / "fake" / "src" / "models.txt").unlink()
    assert sdk_codegen.check(("fake",), sdks, DOCUMENT) == 1
    assert "sdks/fake/src/models.txt" in capsys.readouterr().out


def test_a_stale_document_fails(sdks: Path, capsys: pytest.CaptureFixture[str]) -> None:
    served = json.dumps({"openapi": "3.0.3", "paths": {"/v1/a": {}, "/v1/b": {}, "/v1/c": {}}})
    assert sdk_codegen.check(("fake",), sdks, served) == 1
    assert "sdks/openapi.json" in capsys.readouterr().out


def test_a_failing_generator_stops_the_check(sdks: Path) -> None:
    (sdks / "fake" / "codegen.sh").write_text("echo broken >&2; exit 3\n")
    with pytest.raises(SystemExit, match="failed \\(3\\)"):
        sdk_codegen.check(("fake",), sdks, DOCUMENT)


def test_the_committed_document_is_the_served_one() -> None:
    assert sdk_codegen.DOCUMENT.read_text() == sdk_codegen.document_text()
