"""`loopgate runs fork` in-process, and `POST /api/runs/{id}/fork`: a new run from a past
run's checkpoint with another decision; the original untouched, the chain intact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runtime import open_engine
from runtime.api import create_api
from runtime.auth import add_user, issue_token
from runtime.seed import EXAMPLES_DIR
from runtime.spec import load_yaml
from tests.runtime.cli.test_ops_commands import cli


@pytest.fixture()
def db(tmp_path: Path) -> tuple[str, str]:
    """One expense run started by ops and approved by rae; (database, run id)."""
    path = str(tmp_path / "fork.duckdb")
    eng = open_engine(path)
    for name, roles, teams in (
        ("ops", ["operator"], []),
        ("rae", ["reviewer"], ["managers"]),
        ("ada", ["admin"], []),
    ):
        add_user(eng.store, name, roles=roles, teams=teams, password="p" * 12)
    eng.forget_users()
    wf = eng.save_workflow(load_yaml(EXAMPLES_DIR / "expense-approval.yaml"))
    item = {"employee": "bob", "amount": 240, "category": "travel"}
    run = eng.start(wf, item, by="ops")
    eng.decide(run.review_id, {"action": "approve"}, by="rae")
    eng.store.close()
    return path, run.run_id


def test_runs_fork(capsys, db) -> None:
    path, run = db
    code, out, err = cli(capsys, "runs", "show", run, "--json", "--db", path)
    before = json.loads(out)
    reject = '{"action": "reject", "reason": "over_policy"}'
    code, out, err = cli(
        capsys,
        "runs",
        "fork",
        run,
        "--at",
        "manager",
        "--decision",
        reject,
        "--by",
        "ada",
        "--db",
        path,
    )
    assert (code, err) == (0, "")
    first, second = out.strip().splitlines()
    assert first.startswith(f"forked {run} at manager (was: approve) into run_")
    assert first.endswith(" with reject by ada")
    new = first.split(" into ")[1].split()[0]
    assert second == f"  {new} succeeded (rejected)"
    code, out, err = cli(capsys, "runs", "show", new, "--db", path)
    assert f"forked from {run} at manager by ada" in out
    assert "[run.forked] manager by ada" in out and "[review.decided] manager by ada" in out
    code, out, err = cli(capsys, "runs", "show", run, "--db", path)
    assert f"forks: {new} (at manager)" in out
    # The original: same row, same events but the one run.forked that links the fork.
    code, out, err = cli(capsys, "runs", "show", run, "--json", "--db", path)
    after = json.loads(out)
    assert {k: v for k, v in after.items() if k != "events"} == {
        k: v for k, v in before.items() if k != "events"
    }
    assert after["events"][: len(before["events"])] == before["events"]
    assert [e["kind"] for e in after["events"][len(before["events"]) :]] == ["run.forked"]
    code, out, err = cli(capsys, "audit", "verify", "--db", path)
    assert code == 0 and "audit trail intact" in out
    # --json: the whole fork result on one line.
    code, out, err = cli(
        capsys,
        "runs", "fork", run, "--at", "manager", "--decision", '{"action": "approve"}',
        "--by", "ada", "--json", "--db", path,
    )  # fmt: skip
    got = json.loads(out)
    assert code == 0 and got["forked_from"] == run and got["run"]["result"] == "approved"
    assert got["original"]["action"] == "approve" and got["forked_by"] == "ada"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--at", "manager", "--decision", "{approve"],
            "error: --decision is not valid JSON (Expecting property name enclosed in double "
            'quotes at column 2); give an object like \'{"action": "approve"}\'',
        ),
        (
            ["--at", "manager", "--decision", '["approve"]'],
            'error: a decision is a JSON object like {"action": "approve"}',
        ),
        (
            ["--at", "small", "--decision", '{"action": "approve"}'],
            "error: node small of run RUN (expense-approval v1) is a condition, not a "
            "checkpoint a person decides; fork at a checkpoint it stopped at: manager (REV, "
            "decided)",
        ),
        (
            ["--at", "manager", "--decision", '{"action": "approve"}', "--by", "rae"],
            "error: user rae may not fork runs (needs role admin or designer or operator)",
        ),
    ],
)
def test_runs_fork_refusals(capsys, db, args, message) -> None:
    path, run = db
    by = [] if "--by" in args else ["--by", "ada"]
    code, out, err = cli(capsys, "runs", "fork", run, *args, *by, "--db", path)
    _, shown, _ = cli(capsys, "runs", "show", run, "--json", "--db", path)
    events = json.loads(shown)["events"]
    review = next(e["review_id"] for e in events if e["kind"] == "review.requested")
    assert code == 1 and out == ""
    assert err.strip() == message.replace("RUN", run).replace("REV", review)
    assert "run.forked" not in shown  # nothing was written


def test_api_fork(db) -> None:
    path, run = db
    engine = open_engine(path)
    try:
        tokens = {n: issue_token(engine.store, n) for n in ("ada", "rae")}
        client = TestClient(create_api(lambda: engine, lambda: None))

        def post(who: str, body: dict, run_id: str = run):
            auth = {"Authorization": f"Bearer {tokens[who]}"}
            return client.post(f"/runs/{run_id}/fork", json=body, headers=auth)

        reject = {"at": "manager", "decision": {"action": "reject", "reason": "over_policy"}}
        got = post("ada", reject)
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["forked_from"] == run and body["run"]["result"] == "rejected"
        assert post("rae", reject).status_code == 403
        bad = post("ada", {"at": "manager", "decision": {"action": "choose"}})
        assert bad.status_code == 422 and "cannot take 'choose'" in bad.json()["error"]
        assert post("ada", reject, "run_nope").status_code == 404
        assert engine.store.verify_audit_chain()[0]
    finally:
        engine.store.close()
