"""The Runs page through Streamlit's AppTest: filter, open a run, retry a failed one, cancel
a waiting one; who may act is the engine's rule (auditors see, do not act)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from builder.ops import runs as run_widgets
from builder.shell import resources
from runtime.errors import AccessError, NotFoundError
from tests.opsdata import add_failed_run, closed_port, hook_service

ROOT = Path(__file__).resolve().parents[2]


def runs_page(user: str = "ops") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["lg_user"] = user
    at.run()
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception
    return at


def _listed(at: AppTest) -> list[dict]:
    return at.dataframe[0].value.to_dict("records")


@pytest.fixture()
def port(seeded: None) -> int:
    return closed_port()


@pytest.fixture()
def failed_run(port: int) -> str:
    return add_failed_run(resources.engine(), port).run_id


def test_filter_open_and_retry_a_failed_run(failed_run: str, port: int) -> None:
    at = runs_page()
    store = resources.engine().store
    started = store.list_runs(user="ops", teams=[], limit=500)  # the demo runs, the failed one
    assert len(_listed(at)) == min(len(started), run_widgets.PAGE_SIZE)
    assert {r["started_by"] for r in started} == {"ops"} and len(started) > 1
    at.selectbox(key="runs_status").select("failed").run()
    assert [(r["run"], r["status"], r["at"]) for r in _listed(at)] == [
        (failed_run, "failed", "post")
    ]
    at.selectbox(key="runs_wf").select("expense-approval").run()
    assert "No run matches these filters." in [i.value for i in at.info]
    at.selectbox(key="runs_wf").select("hook-out").run()
    at.number_input(key="runs_version").set_value(1).run()
    assert len(_listed(at)) == 1
    at.selectbox(key="runs_pick").select(failed_run).run()
    assert [m.value for m in at.metric][:2] == ["failed", "hook-out v1"]
    assert any("step limit of 3 reached at node post" in e.value for e in at.error)
    with hook_service(port):  # the service is back: the retry goes through
        at.button(key="runs_retry").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == []
    assert [s.value for s in at.success] == [f"Run {failed_run} retried: succeeded (posted)."]
    assert resources.engine().store.get_run(failed_run)["status"] == "succeeded"
    assert at.metric[0].value == "succeeded"
    assert "runs_retry" not in _keys(at)  # nothing to retry any more
    assert any(c.value.startswith("Failed earlier, then retried: ") for c in at.caption)


def _keys(at: AppTest) -> set[str]:
    return {b.key for b in at.button}


def test_cancel_a_waiting_run_with_a_reason(seeded: None) -> None:
    at = runs_page()
    at.selectbox(key="runs_status").select("waiting").run()
    run_id = _listed(at)[0]["run"]
    at.text_input(key="runs_typed").input(run_id).run()
    assert at.metric[0].value == "waiting"
    assert any(i.value.startswith("Waiting for review rev_") for i in at.info)
    at.text_input(key="runs_reason").input("sent twice").run()
    at.button(key="runs_cancel").click().run()
    assert [s.value for s in at.success] == [
        f"Run {run_id} cancelled (cancelled by ops: sent twice)."
    ]
    run = resources.engine().store.get_run(run_id)
    assert (run["status"], run["error"]) == ("failed", "cancelled by ops: sent twice")
    assert resources.engine().store.pending_review_for_run(run_id) is None


def test_an_auditor_sees_every_run_and_may_not_act(failed_run: str) -> None:
    at = runs_page("aud")
    at.selectbox(key="runs_status").select("failed").run()
    at.selectbox(key="runs_pick").select(failed_run).run()
    assert at.button(key="runs_retry").disabled
    assert "Retrying and cancelling needs the designer, operator or admin role." in [
        c.value for c in at.caption
    ]
    # and the engine refuses it too, whatever the page shows
    aud = resources.engine().store.get_user("aud")
    with pytest.raises(AccessError, match="user aud may not retry runs"):
        run_widgets.retry_run(resources.engine(), aud, failed_run)


def test_a_run_the_user_may_not_see_is_not_found(failed_run: str) -> None:
    rio = resources.engine().store.get_user("rio")
    with pytest.raises(NotFoundError):
        run_widgets.cancel_run(resources.engine(), rio, failed_run, None)
    at = runs_page("dev")  # dev did not start it and sees no review of hook-out
    at.text_input(key="runs_typed").input(failed_run).run()
    assert any(f"run {failed_run} does not exist" in e.value for e in at.error)


def test_the_dataset_is_offered_to_designers_only_among_non_auditors(seeded: None) -> None:
    assert any(e.label.startswith("Decisions dataset") for e in runs_page("dev").expander)
    assert not any(e.label.startswith("Decisions dataset") for e in runs_page("ops").expander)


@pytest.mark.parametrize("user", ["rae", "rio"])
def test_reviewers_do_not_get_the_page(seeded: None, user: str) -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "runs.py"), default_timeout=30)
    at.session_state["lg_user"] = user
    at.run()
    assert [e.value for e in at.error] == [
        "This page needs the role designer or operator or auditor."
    ]
