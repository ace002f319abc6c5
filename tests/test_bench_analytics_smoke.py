"""The analytics benchmark must not rot: it runs end to end at a tiny size, and DuckDB and
SQLite agree on every aggregate (the timings are not checked)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_analytics_benchmark_runs_at_a_tiny_size() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.analytics",
            "--decisions",
            "2000",
            "--events",
            "20000",
            "--rounds",
            "1",
            "--sqlite-rounds",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "| query | DuckDB (ms) | SQLite (ms) |" in out.stdout
    assert "| threshold what-if |" in out.stdout
    assert " (all)." in out.stdout and "DIFFER" not in out.stdout
