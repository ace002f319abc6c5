"""The benchmark must not rot: it runs end to end at a tiny size (figures are not checked)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_engine_benchmark_runs_at_a_tiny_size() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.engine", "--sizes", "20", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "| start (items/s) |" in out.stdout
    assert "LangGraph" in out.stdout and "physical limit" in out.stdout


def test_review_queue_benchmark_runs_at_a_tiny_size() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.review_queue", "--n", "300", "--repeat", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "| precedent, one lookup (reviewer) |" in out.stdout
