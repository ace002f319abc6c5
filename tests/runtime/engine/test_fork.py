"""Forking a past run: a new run from the run's data at a checkpoint, with another decision;
the original run's rows do not change and the audit chain still verifies.

Every part is real: the engine on a DuckDB file, an SMTP server (aiosmtpd) and an HTTP
receiver on 127.0.0.1 for the side effects that run again in the fork.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.auth import add_user
from runtime.engine import Engine
from runtime.errors import AccessError, DecisionError, NotFoundError, RunError
from runtime.outbox import OutboxDispatcher
from runtime.spec import load_yaml, loads_yaml
from runtime.store import Store
from tests.mailsink import mail_sink
from tests.runtime.nodes.helpers import settings
from tests.runtime.nodes.test_webhook import Receiver

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
EXPENSE = load_yaml(EXAMPLES / "expense-approval.yaml")
BUDGET = load_yaml(EXAMPLES / "budget-routing.yaml")
TRAVEL = {"employee": "bob", "amount": 240, "category": "travel"}

EFFECTS = """
id: fork-effects
name: Refund with side effects
input:
  name: {type: string, required: true}
  email: {type: string, required: true}
  amount: {type: number, required: true}
nodes:
  - {id: start, type: trigger}
  - id: ok
    type: approval
    params:
      team: managers
      instructions: "Refund {{ item.amount }} EUR to {{ item.name }}"
      reason_codes: [fraud]
      editable: [amount]
  - id: tell
    type: notify
    params:
      to: "{{ item.email }}"
      subject: "Refund of {{ item.amount }} EUR"
      body: "Dear {{ item.name }}, we refund {{ item.amount }} EUR."
  - id: call
    type: webhook
    params: {url: "URL/refunds", retries: 0}
  - id: save
    type: record_write
    params: {table: refunds, key: "{{ item.name }}", values: {amount: "{{ item.amount }}"}}
  - {id: paid, type: end, params: {result: paid}}
  - {id: refused, type: end, params: {result: refused}}
edges:
  - {from: start, to: ok}
  - {from: ok, to: tell, branch: approved}
  - {from: ok, to: refused, branch: rejected}
  - {from: tell, to: call}
  - {from: call, to: save}
  - {from: save, to: paid}
"""

# The original run's rows, table by table (each ordered so that equal means unchanged).
ROWS = {
    "runs": "SELECT * FROM runs WHERE id = ?",
    "reviews": "SELECT * FROM reviews WHERE run_id = ? ORDER BY id",
    "outbox": "SELECT * FROM outbox WHERE run_id = ? ORDER BY id",
    "records": "SELECT * FROM records WHERE run_id = ? ORDER BY updated_at, key",
    "feedback": "SELECT * FROM feedback WHERE run_id = ? ORDER BY id",
    "checkpoint_states": "SELECT * FROM checkpoint_states WHERE run_id = ? ORDER BY review_id",
    "audit_events": "SELECT * FROM audit_events WHERE run_id = ? ORDER BY seq",
}


def rows_of(store: Store, run_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every row that belongs to a run, per table."""
    return {table: store.execute_readonly(sql, [run_id]) for table, sql in ROWS.items()}


def assert_untouched(before: dict, after: dict, fork_events: int = 1) -> None:
    """The original run's rows are as they were; its trail only gained run.forked events."""
    for table in ROWS:
        if table != "audit_events":
            assert after[table] == before[table], table
    old, new = before["audit_events"], after["audit_events"]
    assert new[: len(old)] == old
    assert [e["kind"] for e in new[len(old) :]] == ["run.forked"] * fork_events


@pytest.fixture
def forking(engine: Engine) -> Engine:
    """The conftest engine (mia reviews managers, admin) plus an operator and finance."""
    add_user(engine.store, "ops", roles=["operator"], teams=[])
    add_user(engine.store, "fin", roles=["reviewer"], teams=["finance"])
    add_user(engine.store, "boss", roles=["admin"], teams=[])
    add_user(engine.store, "dev", roles=["designer", "operator"], teams=[])
    engine.forget_users()
    return engine


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_fork_at_an_approval_rejects_instead_of_approving(forking: Engine) -> None:
    store = forking.store
    started = forking.start(EXPENSE, TRAVEL, by="ops")
    done = forking.decide(started.review_id, {"action": "approve"}, by="mia")
    assert done.result == "approved"
    before = rows_of(store, started.run_id)

    fork = forking.fork(
        started.run_id,
        "manager",
        {"action": "reject", "reason": "over_policy", "note": "what if"},
        by="admin",
    )

    new = fork.run
    assert new.run_id != started.run_id and new.status == "succeeded"
    assert new.result == "rejected"
    assert new.outputs["manager"]["action"] == "reject" and new.outputs["manager"]["by"] == "admin"
    assert fork.forked_from == started.run_id and fork.node_id == "manager"
    assert fork.review_id == started.review_id and fork.forked_by == "admin"
    assert fork.original["action"] == "approve" and fork.original["by"] == "mia"
    assert fork.decision == {
        "action": "reject",
        "data": {},
        "reason": "over_policy",
        "note": "what if",
    }
    assert_untouched(before, rows_of(store, started.run_id))
    assert store.get_run(started.run_id)["result"] == "approved"
    # The new run: started by the forker, its review decided by the forker, linked both ways.
    row = store.get_run(new.run_id)
    assert row["started_by"] == "admin" and row["result"] == "rejected"
    [review] = store.run_reviews(new.run_id)
    assert review["status"] == "decided" and review["decided_by"] == "admin"
    assert review["action"] == "reject" and review["reason"] == "over_policy"
    assert store.fork_origin(new.run_id)["forked_from"] == started.run_id
    assert [f["run_id"] for f in store.forks_of(started.run_id)] == [new.run_id]
    kinds = [e["kind"] for e in store.run_events(new.run_id)]
    assert kinds[:5] == [
        "run.started",
        "run.forked",
        "review.requested",
        "review.decided",
        "step",
    ]
    [linked] = [e for e in store.run_events(started.run_id) if e["kind"] == "run.forked"]
    assert linked["data"]["into"] == new.run_id and linked["actor"] == "admin"
    ok, _, message = store.verify_audit_chain()
    assert ok, message


def test_fork_at_a_choice_takes_another_option(forking: Engine) -> None:
    store = forking.store
    item = {"request_id": "B-1", "title": "Stand", "amount": 1200, "requester": "mara"}
    started = forking.start(BUDGET, item, by="ops")
    forking.decide(
        started.review_id, {"action": "choose", "option": "research", "data": {}}, by="fin"
    )
    before = rows_of(store, started.run_id)

    fork = forking.fork(
        started.run_id,
        "route",
        {"action": "choose", "option": "marketing", "data": {"budget_code": "MK-7"}},
        by="boss",
    )

    assert fork.original["option"] == "research"
    assert fork.run.status == "succeeded"
    assert "to_marketing" in fork.run.outputs and "to_research" not in fork.run.outputs
    assert fork.run.outputs["route"]["choice"] == "marketing"
    assert store.run_outputs(started.run_id).get("to_research") is not None
    assert_untouched(before, rows_of(store, started.run_id))
    # An option the checkpoint does not offer is refused like a real decision's.
    with pytest.raises(DecisionError, match="sales"):
        forking.fork(started.run_id, "route", {"action": "choose", "option": "sales"}, by="boss")
    assert store.verify_audit_chain()[0]


def test_side_effects_run_again_only_in_the_fork_with_fresh_keys(
    forking: Engine, receiver: Receiver
) -> None:
    store = forking.store
    wf = forking.save_workflow(loads_yaml(EFFECTS.replace("URL", receiver.url)), by="admin")
    item = {"name": "ana", "email": "ana@example.com", "amount": 120}
    started = forking.start(wf, item, by="ops")
    forking.decide(started.review_id, {"action": "approve"}, by="mia")
    with mail_sink() as sink:
        dispatcher = OutboxDispatcher(store, settings(sink.port))
        assert [r.status for r in dispatcher.send_pending()] == ["sent"]
        before = rows_of(store, started.run_id)

        fork = forking.fork(
            started.run_id, "ok", {"action": "edit", "data": {"amount": 80}}, by="admin"
        )
        new = fork.run.run_id
        assert fork.run.result == "paid"
        assert [r.status for r in dispatcher.send_pending()] == ["sent"]  # the fork's only
        assert dispatcher.send_pending() == []
    first, second = sink.messages
    assert first["X-Loopgate-Idempotency-Key"] == f"{started.run_id}:tell:1"
    assert second["X-Loopgate-Idempotency-Key"] == f"{new}:tell:1"
    assert second["Subject"] == "Refund of 80 EUR" and first["Subject"] == "Refund of 120 EUR"
    keys = [r["headers"]["Idempotency-Key"] for r in receiver.requests]
    assert keys == [f"{started.run_id}:call:1", f"{new}:call:1"]
    records = store.execute_readonly(
        "SELECT run_id, idempotency_key, value FROM records ORDER BY updated_at"
    )
    assert [r["idempotency_key"] for r in records] == [
        f"{started.run_id}:save:1",
        f"{new}:save:1",
    ]
    assert records[1]["value"]["amount"] == 80
    # The original's outbox row is still the one sent before the fork, sent once.
    assert_untouched(before, rows_of(store, started.run_id))
    assert store.verify_audit_chain()[0]


def test_fork_while_the_original_still_waits(forking: Engine) -> None:
    store = forking.store
    started = forking.start(EXPENSE, TRAVEL, by="ops")
    before = rows_of(store, started.run_id)
    fork = forking.fork(started.run_id, started.review_id, {"action": "approve"}, by="admin")
    assert fork.original is None and fork.run.result == "approved"
    assert_untouched(before, rows_of(store, started.run_id))
    # The original's review is still pending, and decided as usual afterwards.
    done = forking.decide(
        started.review_id, {"action": "reject", "reason": "not_business"}, by="mia"
    )
    assert done.result == "rejected"
    # A fork of the fork starts from the same data at the same checkpoint.
    again = forking.fork(fork.run.run_id, "manager", {"action": "approve"}, by="boss")
    assert store.fork_origin(again.run.run_id)["forked_from"] == fork.run.run_id
    assert store.verify_audit_chain()[0]


def test_a_fork_that_waits_at_a_later_checkpoint_is_decided_as_usual(forking: Engine) -> None:
    started = forking.start(EXPENSE, TRAVEL, by="ops")
    forking.decide(started.review_id, {"action": "approve"}, by="mia")
    fork = forking.fork(
        started.run_id, "manager", {"action": "escalate", "team": "finance"}, by="admin"
    )
    assert fork.run.status == "waiting" and fork.run.team == "finance"
    done = forking.decide(fork.run.review_id, {"action": "approve"}, by="fin")
    assert done.run_id == fork.run.run_id and done.result == "approved"
    assert forking.store.verify_audit_chain()[0]


def _trail_length(store: Store) -> int:
    return store.execute_readonly("SELECT count(*) AS n FROM audit_events")[0]["n"]


def test_refusals_name_what_is_wrong_and_write_nothing(forking: Engine) -> None:
    store = forking.store
    started = forking.start(EXPENSE, TRAVEL, by="ops")
    forking.decide(started.review_id, {"action": "approve"}, by="mia")
    small = forking.start(EXPENSE, {**TRAVEL, "amount": 20}, by="ops")  # auto-approved
    mine = forking.start(EXPENSE, TRAVEL, by="admin")
    forking.decide(mine.review_id, {"action": "approve"}, by="mia")
    length = _trail_length(store)
    run = started.run_id
    cases: list[tuple[Any, str, tuple[str, str, Any, str]]] = [
        (
            NotFoundError,
            "run run_nope does not exist",
            ("run_nope", "manager", {"action": "approve"}, "admin"),
        ),
        (
            NotFoundError,
            "no node or review 'nowhere'.*manager \\(rev_",
            (run, "nowhere", {"action": "approve"}, "admin"),
        ),
        (
            RunError,
            "node small .* is a condition, not a checkpoint",
            (run, "small", {"action": "approve"}, "admin"),
        ),
        (
            RunError,
            "never reached checkpoint manager.*none \\(no checkpoint",
            (small.run_id, "manager", {"action": "approve"}, "admin"),
        ),
        (
            DecisionError,
            "cannot take 'choose'; allowed: approve, reject, edit, escalate",
            (run, "manager", {"action": "choose"}, "admin"),
        ),
        (
            DecisionError,
            "reason",
            (run, "manager", {"action": "reject", "reason": "bored"}, "admin"),
        ),
        (
            DecisionError,
            "the decision's action: Input should be",
            (run, "manager", {"action": "maybe"}, "admin"),
        ),
        (
            DecisionError,
            "the decision's colour: Extra inputs",
            (run, "manager", {"action": "approve", "colour": 1}, "admin"),
        ),
        (AccessError, "user mia may not fork runs", (run, "manager", {"action": "approve"}, "mia")),
        (
            AccessError,
            "user dev may not decide reviews.*forker must be allowed",
            (run, "manager", {"action": "approve"}, "dev"),
        ),
        (
            AccessError,
            "admin started run .* self-approval",
            (mine.run_id, "manager", {"action": "approve"}, "admin"),
        ),
        (AccessError, "unknown user 'zed'", (run, "manager", {"action": "approve"}, "zed")),
    ]
    for error, message, (run_id, at, decision, by) in cases:
        with pytest.raises(error, match=message):
            forking.fork(run_id, at, decision, by=by)
    assert _trail_length(store) == length
    assert store.forks_of(run) == [] and store.forks_of(mine.run_id) == []
    assert store.verify_audit_chain()[0]


def test_a_gone_workflow_version_and_a_checkpoint_from_before_forks(tmp_db) -> None:
    store = Store(tmp_db)
    add_user(store, "mia", roles=["reviewer"], teams=["managers"])
    add_user(store, "admin", roles=["admin"], teams=[])
    add_user(store, "ops", roles=["operator"], teams=[])
    engine = Engine(store)
    decided = engine.start(EXPENSE, TRAVEL, by="ops")
    engine.decide(decided.review_id, {"action": "approve"}, by="admin")
    waiting = engine.start(EXPENSE, {**TRAVEL, "amount": 300}, by="ops")
    store.close()
    import duckdb

    con = duckdb.connect(str(tmp_db))  # as a database written before the forks migration
    con.execute("DELETE FROM checkpoint_states")
    con.close()
    store = Store(tmp_db)
    engine = Engine(store)
    with pytest.raises(RunError, match="before Loopgate kept each checkpoint's run data"):
        engine.fork(
            decided.run_id, "manager", {"action": "reject", "reason": "over_policy"}, by="admin"
        )
    # A run waiting at the checkpoint now still forks: its own data is that checkpoint's.
    fork = engine.fork(waiting.run_id, "manager", {"action": "approve"}, by="admin")
    assert fork.run.result == "approved"
    store.close()
    con = duckdb.connect(str(tmp_db))
    con.execute("DELETE FROM workflows WHERE id = 'expense-approval'")
    con.close()
    store = Store(tmp_db)
    engine = Engine(store)
    with pytest.raises(NotFoundError, match="ran expense-approval v1, which no longer exists"):
        engine.fork(waiting.run_id, "manager", {"action": "approve"}, by="admin")
    store.close()
