"""`loopgate runs cancel` and `loopgate export decisions/feedback`, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime import open_engine
from runtime.auth import add_user
from runtime.cli import main
from runtime.seed import EXAMPLES_DIR
from runtime.spec import load_yaml


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the CLI; (exit code, stdout, stderr)."""
    capsys.readouterr()
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture()
def db(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """Two waiting expense runs (started by ops), one rejected by rae."""
    path = str(tmp_path / "cli.duckdb")
    eng = open_engine(path)
    for name, roles, teams in (
        ("ops", ["operator"], []),
        ("rae", ["reviewer"], ["managers"]),
        ("aud", ["auditor"], []),
    ):
        add_user(eng.store, name, roles=roles, teams=teams, password="p" * 12)
    eng.forget_users()
    wf = eng.save_workflow(load_yaml(EXAMPLES_DIR / "expense-approval.yaml"))
    item = {"employee": "bob", "amount": 240, "category": "travel"}
    first, second = (eng.start(wf, item, by="ops") for _ in range(2))
    eng.decide(second.review_id, {"action": "reject", "reason": "over_policy"}, by="rae")
    eng.store.close()
    return path, {"waiting": first.run_id, "rejected": second.run_id}


def test_runs_cancel(capsys, db) -> None:
    path, ids = db
    run = ids["waiting"]
    code, out, err = cli(capsys, "runs", "cancel", run, "--by", "rae", "--db", path)
    assert code == 1 and err.strip() == (
        "error: user rae may not cancel runs (needs role admin or designer or operator)"
    )
    code, out, err = cli(
        capsys, "runs", "cancel", run, "--by", "ops", "--reason", "duplicate", "--db", path
    )
    assert (code, err) == (0, "")
    assert out.strip() == f"{run} failed: cancelled by ops: duplicate"
    code, out, err = cli(capsys, "runs", "cancel", run, "--by", "ops", "--db", path)
    assert code == 1 and err.strip() == (
        f"error: run {run} is failed; only waiting runs can be cancelled"
    )
    code, out, _ = cli(capsys, "runs", "show", run, "--json", "--db", path)
    shown = json.loads(out)
    assert shown["status"] == "failed"
    assert shown["events"][-1]["kind"] == "run.cancelled"
    assert shown["events"][-1]["actor"] == "ops"
    code, _, err = cli(capsys, "runs", "cancel", run, "--db", path)
    assert code != 0 and "Missing option '--by'" in err


def test_export_decisions_and_feedback(capsys, db, tmp_path: Path) -> None:
    path, ids = db
    out = tmp_path / "d.jsonl"
    code, said, err = cli(
        capsys, "export", "decisions", "--format", "jsonl", "--out", str(out), "--db", path
    )
    assert (code, err, said.strip()) == (0, "", f"wrote 1 rows to {out}")
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert (row["run_id"], row["decision"], row["reason"], row["reviewer"]) == (
        ids["rejected"],
        "reject",
        "over_policy",
        "rae",
    )
    assert row["input"] == {"employee": "bob", "amount": 240, "category": "travel", "note": None}
    code, said, _ = cli(
        capsys,
        "export",
        "decisions",
        "--format",
        "parquet",
        "--out",
        str(tmp_path / "d.pq"),
        "--workflow",
        "nope",
        "--db",
        path,
    )
    assert code == 0 and said.startswith("wrote 0 rows")
    code, said, _ = cli(
        capsys,
        "export",
        "decisions",
        "--format",
        "csv",
        "--out",
        str(tmp_path / "d.csv"),
        "--since",
        "2000-01-01",
        "--until",
        "2999-01-01T00:00",
        "--db",
        path,
    )
    assert code == 0 and said.startswith("wrote 1 rows")
    code, said, _ = cli(
        capsys,
        "export",
        "feedback",
        "--format",
        "jsonl",
        "--out",
        str(tmp_path / "f.jsonl"),
        "--workflow",
        "expense-approval",
        "--db",
        path,
    )
    assert code == 0 and said.startswith("wrote 0 rows")  # an approval of no AI output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("decisions", "--since", "2030-01-02", "--until", "2030-01-01"),
            "error: the time window ends (2030-01-01 00:00) before it starts (2030-01-02 00:00);"
            " pick an end after the start",
        ),
        (
            ("feedback", "--since", "2030-01-01"),
            "error: the feedback export takes a workflow, not a time window",
        ),
        (
            ("runs", "--workflow", "x"),
            "error: --workflow, --since and --until apply to decisions and feedback, not runs",
        ),
    ],
)
def test_export_bad_filters(capsys, db, tmp_path: Path, args, message) -> None:
    path, _ = db
    code, _, err = cli(
        capsys, "export", *args, "--format", "csv", "--out", str(tmp_path / "x.csv"), "--db", path
    )
    assert (code, err.strip()) == (1, message)
