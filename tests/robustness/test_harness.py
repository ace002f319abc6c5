"""The harness itself: it sees exit codes, output, time, memory and runaway children."""

from __future__ import annotations

from pathlib import Path

from tests.robustness.harness import Bounded


def test_a_good_command_exits_0_with_its_output(bounded: Bounded, tmp_path: Path) -> None:
    outcome = bounded.run(["--help"], cwd=tmp_path)
    assert outcome.code == 0
    assert "Usage" in outcome.out
    assert outcome.peak_mb > 10 and not outcome.timed_out


def test_a_bad_command_exits_with_its_code_and_message(bounded: Bounded, tmp_path: Path) -> None:
    outcome = bounded.run(["validate", str(tmp_path / "nope.yaml")], cwd=tmp_path)
    assert outcome.code == 1
    assert len(outcome.lines) == 1
    assert outcome.lines[0].startswith(f"{tmp_path}/nope.yaml: file not found")


def test_a_child_over_its_time_is_killed(bounded: Bounded, tmp_path: Path) -> None:
    outcome = bounded.run(["validate", "--help"], cwd=tmp_path, seconds=0.0001)
    assert outcome.timed_out
    assert outcome.code < 0  # killed by a signal


def test_a_child_over_its_memory_fails_without_taking_the_zygote(
    bounded: Bounded, tmp_path: Path
) -> None:
    # `serve --help` imports the app server (Streamlit, FastAPI): far more than 64 MiB.
    # (`--help` alone no longer imports anything big enough to starve.)
    starved = bounded.run(["serve", "--help"], cwd=tmp_path, mem_mb=64)
    assert starved.code != 0
    assert bounded.run(["serve", "--help"], cwd=tmp_path).code == 0
