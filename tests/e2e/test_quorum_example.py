"""End to end over examples/quorum-approval.yaml through the CLI: a 2-of-finance quorum
(a no that does not end it), a sequence (the manager, then finance), votes in bulk with
`decide --file`, a repeat vote refused, and the audit chain verifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.clihelp import EXAMPLES, loopgate
from tests.e2e.test_examples import finish, path_of

PEOPLE = {"mia": "managers", "fin": "finance", "fay": "finance", "fox": "finance"}


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "quorum.duckdb"
    for name, team in PEOPLE.items():
        loopgate(path, "users", "add", name, "--role", "reviewer", "--team", team)
    return path


def vote(db: Path, review_id: str, by: str, *args: str) -> dict:
    return loopgate(db, "decide", review_id, "--by", by, *args, "--json").lines[0]


def test_quorum_approval(db: Path, tmp_path: Path) -> None:
    desk, booth, espresso = loopgate(
        db,
        "run",
        str(EXAMPLES / "quorum-approval.yaml"),
        "--items",
        str(EXAMPLES / "items" / "quorum-approval.jsonl"),
        "--json",
    ).lines
    assert [r["waiting_on"] for r in (desk, booth, espresso)] == [
        "finance_quorum",
        "manager_then_finance",
        "finance_quorum",
    ]
    assert (desk["team"], booth["team"]) == ("finance", "managers")

    # 2 of finance: one vote leaves it waiting and says what is needed; a repeat is refused.
    first = vote(db, desk["review_id"], "fin", "--action", "approve")
    assert first["status"] == "waiting"
    assert first["votes"] == "vote recorded (1 of 2 approvals); 1 more approval from team finance"
    text = loopgate(db, "decide", desk["review_id"], "--action", "approve", "--by", "fay")
    assert "succeeded (approved)" in text.out
    again = loopgate(
        db, "decide", desk["review_id"], "--action", "approve", "--by", "fin", check=False
    )
    assert again.code == 1 and "already decided by fay" in again.err

    # The sequence: finance may not vote before the manager; then finance, by file (the
    # second line comes too late: the first closed the review).
    early = loopgate(
        db, "decide", booth["review_id"], "--action", "approve", "--by", "fin", check=False
    )
    assert early.code == 1
    assert "fin may not vote" in early.err and "1 more approval from the manager" in early.err
    moved = vote(db, booth["review_id"], "mia", "--action", "approve")
    assert moved["team"] == "finance" and moved["status"] == "waiting"
    lines = tmp_path / "votes.jsonl"
    lines.write_text(
        "\n".join(
            json.dumps({"review": booth["review_id"], "action": "approve", "by": by})
            for by in ("fin", "fox")
        )
        + "\n"
    )
    late = loopgate(db, "decide", "--file", str(lines), check=False)
    assert late.code == 1 and "line 2" in late.err and "already decided by fin" in late.err
    shown = loopgate(db, "runs", "show", booth["run_id"], "--json").lines[0]
    assert shown["status"] == "succeeded" and shown["result"] == "approved"

    # reject_ends is off for the quorum: one no waits, a second no cannot be outvoted.
    no = vote(db, espresso["review_id"], "fox", "--action", "reject", "--reason", "no_budget")
    assert no["status"] == "waiting"
    done = vote(db, espresso["review_id"], "fay", "--action", "reject", "--reason", "not_needed")
    assert done["result"] == "rejected"
    assert path_of(db, espresso["run_id"])[-1] == "refused"
    events = loopgate(db, "runs", "show", booth["run_id"], "--json").lines[0]["events"]
    kinds = [e["kind"] for e in events if e["kind"].startswith("review.")]
    assert kinds.count("review.voted") == 2 and kinds.count("review.decided") == 1
    assert "review.assigned" in kinds
    finish(db)
