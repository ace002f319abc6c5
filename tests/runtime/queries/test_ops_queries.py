"""The Audit and Runs pages' queries: audit search pages, the timeline, the chain check
naming the first bad row, run filters, run detail; each with its access rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from runtime import Engine, open_engine
from runtime.auth import add_user
from runtime.errors import AccessError, NotFoundError
from runtime.queries import audit as audit_queries
from runtime.queries import runs as run_queries
from runtime.queries.audit import AuditSearch
from runtime.queries.runs import RunFilter
from tests.opsdata import add_failed_run, closed_port


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = open_engine(str(tmp_path / "ops.duckdb"))
    for name, roles in (
        ("ada", ["admin"]),
        ("ops", ["operator"]),
        ("aud", ["auditor"]),
        ("rio", ["reviewer"]),
    ):
        add_user(
            eng.store, name, roles=roles, teams=["risk"] if name == "rio" else [], password="p" * 12
        )
    eng.forget_users()
    yield eng
    eng.store.close()


def _u(engine: Engine, name: str) -> dict:
    return engine.store.get_user(name)


def test_audit_search_pages_and_access(engine: Engine) -> None:
    port = closed_port()  # one port: the workflow is saved once
    runs = [add_failed_run(engine, port, order=f"A-{i}") for i in range(3)]
    # 4 users + 1 workflow saved, then per run: started, 3 steps (start, post, post), failed
    aud = _u(engine, "aud")
    everything = audit_queries.search_audit(engine.store, aud, AuditSearch(), page_size=100)
    assert len(everything.events) == 5 + 3 * 5 and not everything.more
    first = audit_queries.search_audit(engine.store, aud, AuditSearch(kind="step"), page_size=4)
    assert (len(first.events), first.more) == (4, True)
    rest = audit_queries.search_audit(
        engine.store, aud, AuditSearch(kind="step"), page_size=4, offset=4
    )
    assert (len(rest.events), rest.more) == (4, True)
    last = audit_queries.search_audit(
        engine.store, aud, AuditSearch(kind="step"), page_size=4, offset=8
    )
    assert (len(last.events), last.more) == (1, False)
    seqs = [e["seq"] for e in first.events + rest.events + last.events]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 9
    mine = AuditSearch(run_id=f"  {runs[1].run_id} ", node_id="post", text="refused")
    hits = audit_queries.search_audit(engine.store, aud, mine).events
    assert [(e["kind"], e["node_id"]) for e in hits] == [("step", "post")] * 2
    assert audit_queries.search_audit(engine.store, None, AuditSearch(actor="ops")).events
    for name in ("ops", "rio"):
        with pytest.raises(AccessError, match="may not read the audit trail"):
            audit_queries.search_audit(engine.store, _u(engine, name), AuditSearch())


def test_the_timeline_is_oldest_first(engine: Engine) -> None:
    run = add_failed_run(engine)
    kinds = [e["kind"] for e in audit_queries.run_timeline(engine.store, None, run.run_id)]
    assert kinds == ["run.started", "step", "step", "step", "run.failed"]
    assert audit_queries.run_timeline(engine.store, None, "run_none") == []


def test_the_chain_check_names_the_first_altered_row(engine: Engine, tmp_path: Path) -> None:
    add_failed_run(engine)
    check = audit_queries.check_chain(engine.store, _u(engine, "aud"))
    assert check.ok and check.rows == 10 and check.bad_row is None
    assert check.message.startswith("audit trail intact: 10 rows")
    path = engine.store.path
    engine.store.close()
    con = duckdb.connect(path)
    con.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 7")
    con.close()
    eng = open_engine(path)
    try:
        check = audit_queries.check_chain(eng.store, None)
        assert not check.ok
        assert check.message.startswith("audit row 7 (step, run run_")
        assert check.bad_row is not None
        assert (check.bad_row["seq"], check.bad_row["actor"]) == (7, "mallory")
    finally:
        eng.store.close()


def test_runs_filters_and_visibility(engine: Engine) -> None:
    port = closed_port()
    runs = [add_failed_run(engine, port, order=f"A-{i}") for i in range(3)]
    ops = _u(engine, "ops")
    page = run_queries.find_runs(engine.store, ops, RunFilter(status="failed"), page_size=2)
    assert [r["id"] for r in page.runs] == [runs[2].run_id, runs[1].run_id] and page.more
    page = run_queries.find_runs(engine.store, ops, RunFilter(status="failed"), offset=2)
    assert [r["id"] for r in page.runs] == [runs[0].run_id] and not page.more
    assert run_queries.find_runs(engine.store, ops, RunFilter(status="waiting")).runs == []
    filt = RunFilter(workflow_id="hook-out", workflow_version=2)
    assert run_queries.find_runs(engine.store, ops, filt).runs == []
    filt = RunFilter(workflow_id="hook-out", workflow_version=1)
    assert len(run_queries.find_runs(engine.store, ops, filt).runs) == 3
    with pytest.raises(ValueError, match="before it starts"):
        run_queries.find_runs(
            engine.store,
            ops,
            RunFilter(since=page.runs[0]["created_at"], until=page.runs[0]["created_at"]),
        )
    # rio (reviewer, team risk) did not start them and sees no review of hook-out
    assert run_queries.find_runs(engine.store, _u(engine, "rio"), RunFilter()).runs == []
    assert len(run_queries.find_runs(engine.store, _u(engine, "aud"), RunFilter()).runs) == 3
    with pytest.raises(NotFoundError):
        run_queries.run_detail(engine.store, _u(engine, "rio"), runs[0].run_id)


def test_run_detail_has_errors_outputs_and_reviews(engine: Engine) -> None:
    run = add_failed_run(engine)
    detail = run_queries.run_detail(engine.store, _u(engine, "ops"), run.run_id)
    assert detail.run["status"] == "failed" and detail.run["item"] == {"order": "A-1"}
    assert [e["node_id"] for e in detail.errors] == ["post"]
    assert detail.errors[0]["error"].startswith("step limit of 3 reached at node post")
    assert set(detail.outputs) == {"start", "post"}
    assert "Connection refused" in detail.outputs["post"]["error"]
    assert detail.reviews == [] and detail.corrections == []
