"""The Audit page through Streamlit's AppTest: search and page through the trail, a run's
timeline, the chain check passing and then failing on a row altered in the database, the
exports, the decisions dataset; auditors and admins only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from builder.ops.audit import KINDS
from builder.ops.common import export_bytes
from builder.shell import resources
from runtime.queries import audit as audit_queries
from runtime.queries.audit import AuditSearch
from tests.opsdata import add_failed_run

ROOT = Path(__file__).resolve().parents[2]


def audit_page(user: str = "aud") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["lg_user"] = user
    at.run()
    at.switch_page("pages/audit.py").run()
    assert not at.exception, at.exception
    return at


def _search(at: AppTest, **fields: str) -> None:
    for key, value in fields.items():
        if key == "kind":
            at.selectbox(key="aud_kind").select(value)
        else:
            at.text_input(key=f"aud_{key}").input(value)
    next(b for b in at.button if b.label == "Search").click().run()
    assert not at.exception, at.exception


def _table(at: AppTest, index: int = 0) -> list[dict]:
    return at.dataframe[index].value.to_dict("records")


@pytest.fixture()
def failed_run(seeded: None) -> str:
    return add_failed_run(resources.engine()).run_id


def test_search_pages_and_timeline(failed_run: str) -> None:
    at = audit_page()
    assert any(c.value == "Events 1 to 50, newest first (more follow)" for c in at.caption)
    at.button(key="aud_next").click().run()
    assert any(c.value.startswith("Events 51 to 100") for c in at.caption)
    _search(at, run=failed_run, kind="step", node="post")
    rows = _table(at)
    assert [(r["kind"], r["node"], r["run"]) for r in rows] == [("step", "post", failed_run)] * 2
    assert all("/hook failed after 1 try" in r["data"] for r in rows)
    assert any(c.value == "Events 1 to 2, newest first" for c in at.caption)
    # the timeline tab follows the searched run, oldest first
    assert at.text_input(key="aud_tl_run").value == failed_run
    timeline = _table(at, 1)
    assert [r["kind"] for r in timeline] == ["run.started", "step", "step", "step", "run.failed"]
    _search(at, run="", kind="step", node="", text="no such text anywhere")
    assert "No audit event matches this search." in [i.value for i in at.info]


def test_the_chain_check_passes_then_names_the_altered_row(failed_run: str) -> None:
    at = audit_page()
    at.button(key="aud_check").click().run()
    (ok,) = at.success
    assert ok.value.startswith("Chain check passed: audit trail intact: ")
    # alter one row directly in the database, behind the store's back (through the file's
    # own connection: this process holds the file, as the server does)
    store = resources.engine().store
    seq = store.audit_events(run_id=failed_run, kind="run.failed")[0]["seq"]
    with store._lock:
        store._w.execute(
            'UPDATE audit_events SET data = \'{"error": "all fine"}\' WHERE seq = ?', [seq]
        )
    at.button(key="aud_check").click().run()
    assert not at.exception
    (bad,) = at.error
    assert bad.value.startswith(
        f"Chain check failed: audit row {seq} (run.failed, run {failed_run})"
    )
    assert "was altered after it was written" in bad.value
    assert any(m.value == f"**First bad row: {seq}** (run.failed)" for m in at.markdown)
    (table,) = [d for d in at.dataframe if "prev hash" in d.value.columns]
    row = table.value.to_dict("records")[0]
    assert (row["seq"], row["kind"], row["data"]) == (seq, "run.failed", '{"error": "all fine"}')


def test_the_exports_of_a_search(failed_run: str, tmp_path: Path) -> None:
    store = resources.engine().store
    search = AuditSearch(run_id=failed_run)
    data, n = export_bytes(
        lambda p: audit_queries.export_search(store, None, search, "jsonl", p), "jsonl"
    )
    assert n == 5
    kinds = [json.loads(line)["kind"] for line in data.decode().splitlines()]
    assert kinds == ["run.started", "step", "step", "step", "run.failed"]
    csv, _ = export_bytes(
        lambda p: audit_queries.export_search(store, None, search, "csv", p), "csv"
    )
    assert csv.decode().splitlines()[0].startswith("seq,occurred_at,kind,run_id")
    assert len(csv.decode().splitlines()) == 6
    parquet, n = export_bytes(
        lambda p: audit_queries.export_search(store, None, search, "parquet", p, limit=2),
        "parquet",
    )
    assert parquet[:4] == b"PAR1" and n == 2
    # on the page: prepare the CSV of a search, then its download button appears
    at = audit_page()
    _search(at, run=failed_run)
    assert not at.get("download_button")
    at.button(key="aud_export_csv_prep").click().run()
    (button,) = at.get("download_button")
    assert button.proto.label == "CSV (5 rows)"
    assert at.session_state["aud_export_csv_file"][1].decode().count("\n") == 6
    at.run()  # kept across reruns of the same search
    assert len(at.get("download_button")) == 1
    _search(at, run="", kind="step")  # another search: the built file is dropped
    assert not at.get("download_button")


def test_the_decisions_dataset_tab(seeded: None) -> None:
    eng = resources.engine()
    review = eng.store.list_pending_reviews(workflow_id="expense-approval")[0]
    eng.decide(review["id"], {"action": "reject", "reason": "over_policy"}, by="rae")
    at = audit_page()
    (table,) = [d for d in at.dataframe if "AI output" in d.value.columns]
    rows = table.value.to_dict("records")
    assert [(r["workflow"], r["decision"], r["reason"], r["reviewer"]) for r in rows] == [
        ("expense-approval", "reject", "over_policy", "rae")
    ]
    at.button(key="ds_aud_dl_jsonl_prep").click().run()
    (button,) = at.get("download_button")
    assert button.proto.label == "JSON Lines (1 rows)"
    (line,) = at.session_state["ds_aud_dl_jsonl_file"][1].decode().splitlines()
    assert json.loads(line)["reason"] == "over_policy"
    at.selectbox(key="ds_aud_wf").select("ticket-routing").run()
    assert "No decision yet matches: decisions appear once reviewers decide." in [
        i.value for i in at.info
    ]


@pytest.mark.parametrize("user", ["rae", "ops", "dev"])
def test_only_auditors_and_admins(seeded: None, user: str) -> None:
    # the navigation does not offer it; the page itself refuses too, when opened directly
    at = AppTest.from_file(str(ROOT / "pages" / "audit.py"), default_timeout=30)
    at.session_state["lg_user"] = user
    at.run()
    assert [e.value for e in at.error] == ["This page needs the role auditor."]
    assert not at.dataframe


def test_the_kinds_offered_are_written_somewhere() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "runtime").rglob("*.py"))
    for kind in KINDS:
        assert f'"{kind}"' in source or f'"{kind.split(".")[0]}.{{' in source, kind
