#!/usr/bin/env python3
"""The SDKs' generated models, kept in step with the API (`make sdks-generate`, and `--check` in
`make test`).

1. ``sdks/openapi.json`` is the document the API serves at ``GET /v1/openapi.json`` (the same
   function builds both), written with sorted keys so a diff reads well.
2. Each SDK's generator (``sdks/<lang>/codegen.sh OUT_DIR``, a maintained OpenAPI generator
   pinned by that SDK's own lock file) writes the SDK's generated files under ``OUT_DIR``, at the
   paths they have under ``sdks/<lang>/``.

Without ``--check`` both are written in place. With ``--check`` nothing is written: the document
and every SDK's output are generated into a temporary directory and compared with what is
committed, and any difference fails (exit 1) with the file names and a unified diff, so an API
change that is not regenerated into the SDKs cannot land.
"""

from __future__ import annotations

import argparse
import difflib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SDKS = ROOT / "sdks"
DOCUMENT = SDKS / "openapi.json"
LANGUAGES = ("python", "typescript", "go")


def served_document() -> dict[str, Any]:
    """What ``GET /v1/openapi.json`` answers (the route's own two calls)."""
    from chalicelib.api.deprecations import DEPRECATED_ROUTES, mark_deprecated_operations
    from chalicelib.api.openapi import openapi_document

    return mark_deprecated_operations(openapi_document(), DEPRECATED_ROUTES)


def document_text() -> str:
    return json.dumps(served_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate(language: str, out_dir: Path, sdks: Path = SDKS) -> list[Path]:
    """Run ``sdks/<language>/codegen.sh out_dir``; the files it wrote, relative to out_dir."""
    script = sdks / language / "codegen.sh"
    out_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["bash", str(script), str(out_dir)],
        cwd=str(sdks / language),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(
            f"sdk_codegen: {script} failed ({result.returncode})\n{result.stdout}{result.stderr}"
        )
    written = sorted(p.relative_to(out_dir) for p in out_dir.rglob("*") if p.is_file())
    if not written:
        raise SystemExit(f"sdk_codegen: {script} wrote nothing")
    return written


def _diff(committed: Path, fresh: Path, label: str) -> list[str]:
    old = committed.read_text().splitlines(keepends=True) if committed.exists() else []
    new = fresh.read_text().splitlines(keepends=True)
    if old == new:
        return []
    lines = list(difflib.unified_diff(old, new, f"committed/{label}", f"regenerated/{label}"))
    return lines[:60] + ([f"... ({len(lines) - 60} more diff lines)\n"] if len(lines) > 60 else [])


def check(languages: tuple[str, ...], sdks: Path = SDKS, document: str | None = None) -> int:
    """0 when ``sdks/openapi.json`` is ``document`` (the served one by default) and every
    language's generator reproduces its committed files; else 1, after printing the diffs."""
    stale: list[str] = []
    output: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sdk-codegen-") as tmp:
        fresh_document = Path(tmp) / "openapi.json"
        fresh_document.write_text(document_text() if document is None else document)
        diff = _diff(sdks / "openapi.json", fresh_document, "sdks/openapi.json")
        if diff:
            stale.append("sdks/openapi.json")
            output.extend(diff)
        for language in languages:
            out_dir = Path(tmp) / language
            for relative in generate(language, out_dir, sdks):
                label = f"sdks/{language}/{relative}"
                diff = _diff(sdks / language / relative, out_dir / relative, label)
                if diff:
                    stale.append(label)
                    output.extend(diff)
    if stale:
        sys.stdout.writelines(output)
        print(
            "\nsdk_codegen: the SDKs are out of step with the API's OpenAPI document: "
            + ", ".join(stale)
            + "\nRegenerate with `make sdks-generate` and commit the result."
        )
        return 1
    print(
        f"sdk_codegen: sdks/openapi.json and the generated models of {', '.join(languages)} "
        "are current"
    )
    return 0


def write(languages: tuple[str, ...]) -> int:
    DOCUMENT.write_text(document_text())
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
    for language in languages:
        # Generated beside, then copied in: only the generator's own files are touched.
        with tempfile.TemporaryDirectory(prefix="sdk-codegen-") as tmp:
            for relative in generate(language, Path(tmp)):
                target = SDKS / language / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(tmp) / relative, target)
                print(f"wrote sdks/{language}/{relative}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument("languages", nargs="*", help=f"some of {', '.join(LANGUAGES)} (all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.languages) - set(LANGUAGES))
    if unknown:
        parser.error(f"unknown SDK {', '.join(unknown)}; choose from {', '.join(LANGUAGES)}")
    languages = tuple(args.languages) or LANGUAGES
    return check(languages) if args.check else write(languages)


if __name__ == "__main__":
    sys.exit(main())
