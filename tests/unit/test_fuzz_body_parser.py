"""A short atheris (libFuzzer) run of the body parser, bounded in time: any crash fails the test.
The target is ``tests/fuzz/fuzz_body_parser.py``; run it by hand for longer campaigns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FUZZ_DIR = Path(__file__).resolve().parents[1] / "fuzz"
SEEDS = [
    b'{"source":"s","event_type":"t","payload":{"x":NaN}}',
    b'{"source":"s","event_type":"t","payload":{"x":"\\ud800"},"metadata":{"k":"v"}}',
    b'{"items":[{"source":"s","event_type":"t","payload":{"x":1e400}}]}',
    b'{"a":1,"a":2}',
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    b'\xef\xbb\xbf{"k":[1,-0,0.5e-3,"\\u0000"]}',
]


def test_the_body_parser_survives_a_short_fuzz_run(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index, seed in enumerate(SEEDS):
        (corpus / f"seed-{index}").write_bytes(seed)
    result = subprocess.run(
        [
            sys.executable,
            str(FUZZ_DIR / "fuzz_body_parser.py"),
            "-max_total_time=6",
            "-rss_limit_mb=1024",
            f"-dict={FUZZ_DIR / 'json.dict'}",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    crashes = sorted(path.name for path in tmp_path.iterdir() if path.name != "corpus")
    assert not crashes, f"fuzzing found a crash ({crashes}):\n{result.stderr[-4000:]}"
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Done" in result.stderr, result.stderr[-2000:]
