"""`loopgate run FILE.yaml`: what is stored runs; a changed file is published and said so.

The bounded corpus (tests/robustness/test_cli.py) holds the refusals; here: the sequence a
user goes through, in-process, and how a difference is named.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.cli import run_args
from runtime.cli.runs import spec_difference
from runtime.store import Store

ROOT = Path(__file__).resolve().parents[3]
EXPENSE = (ROOT / "examples" / "expense-approval.yaml").read_text()
ITEM = '{"employee": "bob", "amount": 120, "category": "meals"}'


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run_args(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_file_saves_once_then_runs_the_stored_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wf, db = tmp_path / "wf.yaml", str(tmp_path / "r.duckdb")
    wf.write_text(EXPENSE)
    code, out, err = _run(capsys, "run", str(wf), "--item", ITEM, "--db", db)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == (
        f"saved {wf} as expense-approval v1, the published version (new in this database)"
    )
    code, out, err = _run(capsys, "run", str(wf), "--item", ITEM, "--db", db)
    assert (code, err) == (0, "") and "saved" not in out and "waiting at manager" in out

    wf.write_text(EXPENSE.replace("deadline: 3d", "deadline: 2d"))
    code, out, err = _run(capsys, "run", str(wf), "--item", ITEM, "--no-save", "--db", db)
    assert code == 1 and out == ""
    assert err == (
        f"error: {wf}: it differs from the stored expense-approval v1: node manager changed "
        "(params.deadline); pass --save to publish it as a new version and run it (a run "
        "always runs a stored version), or run the stored one with `loopgate run "
        "expense-approval`\n"
    )
    code, out, err = _run(capsys, "run", str(wf), "--item", ITEM, "--db", db)
    assert (code, err) == (0, "")
    assert out.startswith(f"saved {wf} as expense-approval v2, the published version (the stored")

    store = Store(db)
    try:
        runs = store.list_runs()
        assert [r["workflow_version"] for r in runs] == [2, 1, 1]  # newest first
        assert len(store.list_workflow_versions("expense-approval")) == 2
    finally:
        store.close()


def test_run_file_equal_to_the_published_version_runs_it_though_a_draft_is_newer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from runtime.engine import Engine
    from runtime.spec import loads_yaml

    wf, db = tmp_path / "wf.yaml", tmp_path / "r.duckdb"
    wf.write_text(EXPENSE)
    store = Store(db)
    engine = Engine(store)
    engine.save_workflow(loads_yaml(EXPENSE))
    engine.save_workflow(loads_yaml(EXPENSE.replace("3d", "5d")), draft=True)  # the Builder
    store.close()
    code, out, err = _run(capsys, "run", str(wf), "--item", ITEM, "--no-save", "--db", str(db))
    assert (code, err) == (0, "") and "waiting at manager" in out


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ({"name": "a"}, {"name": "b"}, "name changed"),
        (
            {"nodes": [{"id": "a", "type": "end"}]},
            {"nodes": [{"id": "a", "type": "end"}, {"id": "b", "type": "end"}]},
            "node b added",
        ),
        (
            {"nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}]},
            {"nodes": [{"id": "a"}]},
            "nodes b, c removed",
        ),
        (
            {"nodes": [{"id": "a", "params": {"x": 1, "y": 2}}]},
            {"nodes": [{"id": "a", "params": {"x": 1, "y": 3, "z": 0}}]},
            "node a changed (params.y, params.z)",
        ),
        (
            {"edges": [{"from": "a", "to": "b"}]},
            {"edges": [{"from": "a", "to": "c"}, {"from": "c", "to": "b"}]},
            "edges: 2 added, 1 removed",
        ),
        ({"input": {"n": {"type": "number"}}}, {"input": {}}, "input.n changed"),
        ({}, {}, "its content changed"),
    ],
)
def test_spec_difference_names_what_changed(old: dict, new: dict, said: str) -> None:
    assert spec_difference(old, new) == said


def test_spec_difference_stays_short() -> None:
    old = {"nodes": [{"id": f"n{i}", "v": 1} for i in range(20)]}
    new = {"nodes": [{"id": f"n{i}", "v": 2} for i in range(20)]}
    said = spec_difference(old, new)
    assert said.count("changed") == 4 and said.endswith("16 more change(s)")
