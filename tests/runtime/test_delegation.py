"""Out-of-office delegation: reviews assigned to a user go to their delegate in the window.

Through the engine (creation, an escalation step's reassignment, an admin's assignment),
the CLI (`loopgate users delegate`) and the API (PUT/DELETE /users/NAME/delegation).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runtime import open_engine
from runtime.api import create_api
from runtime.auth import add_user, issue_token
from runtime.errors import AccessError, LoopgateError
from runtime.spec import loads_yaml
from tests.runtime.cli.test_ops_commands import cli

FLOW = """
id: deleg
name: Delegated
input:
  amount: {type: number, required: true}
nodes:
  - id: start
    type: trigger
  - id: lead
    type: approval
    params:
      team: managers
      assignee: mia
      escalation:
        - {after: 1h, action: reassign, assignee: max}
  - id: done
    type: end
edges:
  - {from: start, to: lead}
  - {from: lead, to: done, branch: approved}
  - {from: lead, to: done, branch: rejected}
"""


@pytest.fixture
def engine(tmp_path: Path):
    eng = open_engine(str(tmp_path / "d.duckdb"))
    for name, roles, teams in (
        ("mia", ["reviewer"], ["managers"]),
        ("max", ["reviewer"], ["managers", "finance"]),
        ("kim", ["reviewer"], ["managers", "finance"]),
        ("rio", ["reviewer"], ["risk"]),
        ("ops", ["operator"], []),
        ("ada", ["admin"], []),
    ):
        add_user(eng.store, name, roles=roles, teams=teams)
    eng.forget_users()
    yield eng
    eng.store.close()


def window(engine, hours: float = 8):
    now = engine.clock()
    return now - timedelta(minutes=1), now + timedelta(hours=hours)


def test_a_review_created_in_the_window_goes_to_the_delegate(engine):
    start, end = window(engine)
    engine.delegations.set("mia", "kim", start, end, by="mia", note="holiday")
    res = engine.start(loads_yaml(FLOW), {"amount": 1}, by="ops")
    review = engine.store.get_review(res.review_id)
    assert (review["assignee"], review["delegated_from"]) == ("kim", "mia")
    [event] = [e for e in engine.store.run_events(res.run_id) if e["kind"] == "review.delegated"]
    assert event["data"] == {"for": "mia", "delegate": "kim"} and event["actor"] == "system"
    done = engine.decide(res.review_id, {"action": "approve"}, by="kim")
    assert done.status == "succeeded"
    assert engine.store.verify_audit_chain()[0]


def test_outside_the_window_the_review_stays_with_its_assignee(engine):
    now = engine.clock()
    engine.delegations.set("mia", "kim", now + timedelta(days=1), now + timedelta(days=2), by="ada")
    res = engine.start(loads_yaml(FLOW), {"amount": 1}, by="ops")
    review = engine.store.get_review(res.review_id)
    assert (review["assignee"], review["delegated_from"]) == ("mia", None)
    engine.clock = lambda: now + timedelta(days=3)  # after the window
    res = engine.start(loads_yaml(FLOW), {"amount": 1}, by="ops")
    assert engine.store.get_review(res.review_id)["assignee"] == "mia"
    assert engine.delegations.clear("mia", by="mia") is True
    assert engine.delegations.clear("mia", by="mia") is False


def test_a_reassign_step_and_an_admin_assignment_go_to_the_delegate(engine):
    res = engine.start(loads_yaml(FLOW), {"amount": 1}, by="ops")
    start, end = window(engine, hours=48)
    engine.delegations.set("max", "kim", start, end, by="max")
    now = engine.clock()
    report = engine.sweep(now + timedelta(hours=2))
    assert report.reassigned == [res.review_id]
    review = engine.store.get_review(res.review_id)
    assert (review["assignee"], review["delegated_from"]) == ("kim", "max")
    engine.delegations.set("mia", "max", start, end, by="mia")
    engine.delegations.clear("max", by="max")
    held = engine.assign(res.review_id, "mia", by="ada")
    assert (held["assignee"], held["delegated_from"]) == ("max", "mia")
    kinds = [e["kind"] for e in engine.store.run_events(res.run_id)]
    assert kinds.count("review.delegated") == 2
    held = engine.assign(res.review_id, "kim", by="ada")  # no delegation: plain
    assert (held["assignee"], held["delegated_from"]) == ("kim", None)


@pytest.mark.parametrize(
    ("user", "to", "by", "message"),
    [
        ("mia", "rio", "mia", "rio cannot decide mia's reviews: not in team(s) managers"),
        ("mia", "ops", "mia", "user ops may not take delegated reviews (needs role reviewer)"),
        ("mia", "mia", "mia", "mia cannot delegate to themselves"),
        ("mia", "kim", "max", "user max may not set mia's delegation: only mia or an admin"),
        ("mia", "nobody", "mia", "unknown user 'nobody'"),
    ],
)
def test_a_delegate_who_could_not_decide_is_refused(engine, user, to, by, message):
    start, end = window(engine)
    with pytest.raises(AccessError, match=re.escape(message)):
        engine.delegations.set(user, to, start, end, by=by)
    assert engine.delegations.list() == []


def test_an_empty_window_is_refused(engine):
    start, _ = window(engine)
    with pytest.raises(LoopgateError, match="is not after --from"):
        engine.delegations.set("mia", "kim", start, start, by="mia")


def test_cli_users_delegate(capsys, engine):
    path = engine.store.path
    engine.store.close()
    code, out, err = cli(
        capsys,
        "users",
        "delegate",
        "mia",
        "--to",
        "kim",
        "--from",
        "2026-01-01T00:00",
        "--until",
        "2099-01-01",
        "--note",
        "parental leave",
        "--db",
        path,
    )
    assert (code, err) == (0, "")
    assert out.strip() == (
        "reviews assigned to mia go to kim from 2026-01-01 00:00 until 2099-01-01 00:00 UTC"
    )
    code, out, err = cli(capsys, "users", "delegations", "--db", path)
    assert out.startswith("mia -> kim") and "parental leave" in out
    code, out, err = cli(
        capsys, "users", "delegate", "mia", "--to", "rio", "--until", "2099-01-01", "--db", path
    )
    assert code == 1 and "rio cannot decide mia's reviews" in err
    code, out, err = cli(capsys, "users", "delegate", "mia", "--until", "soon", "--db", path)
    assert code == 1 and err.strip() == (
        "error: give --to REVIEWER and --until TIME (or --clear to end a delegation)"
    )
    code, out, err = cli(
        capsys, "users", "delegate", "mia", "--to", "kim", "--until", "soon", "--db", path
    )
    assert code == 1 and "--until 'soon' is not an ISO time" in err
    code, out, err = cli(capsys, "users", "delegate", "mia", "--clear", "--db", path)
    assert (code, out.strip()) == (0, "delegation of mia cleared")


def test_api_delegation(engine):
    tokens = {n: issue_token(engine.store, n) for n in ("mia", "max")}
    client = TestClient(create_api(lambda: engine, lambda: None))

    def call(method, who, body=None):
        return client.request(
            method,
            "/users/mia/delegation",
            json=body,
            headers={"Authorization": f"Bearer {tokens[who]}"},
        )

    ok = call("PUT", "mia", {"to": "kim", "ends_at": "2099-01-01T00:00:00Z"})
    assert ok.status_code == 200 and ok.json()["delegate"] == "kim"
    refused = call("PUT", "max", {"to": "kim", "ends_at": "2099-01-01T00:00:00Z"})
    assert refused.status_code == 403 and "only mia or an admin" in refused.json()["error"]
    bad = call("PUT", "mia", {"to": "rio", "ends_at": "2099-01-01T00:00:00Z"})
    assert bad.status_code == 403 and "not in team(s) managers" in bad.json()["error"]
    gone = call("DELETE", "mia")
    assert gone.json() == {"user": "mia", "cleared": True}
