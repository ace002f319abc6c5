"""The Runs page's fork panel through Streamlit's AppTest: fork a run at its checkpoint
with another decision, open the new run, see the links both ways; who may fork."""

from __future__ import annotations

from builder.shell import resources
from tests.pages.test_runs_page import runs_page


def _waiting_expense() -> str:
    runs = resources.engine().store.list_runs(status="waiting", workflow_id="expense-approval")
    return runs[-1]["id"]


def test_fork_a_run_from_the_runs_page(seeded: None) -> None:
    store = resources.engine().store
    run_id = _waiting_expense()
    review = store.pending_review_for_run(run_id)["id"]
    before = store.get_run(run_id)
    at = runs_page("ada")
    at.text_input(key="runs_typed").input(run_id).run()
    assert [e.label for e in at.expander if e.label == "Fork from a checkpoint"]
    assert at.selectbox(key=f"fork_at_{run_id}").value == review
    at.selectbox(key=f"fork_action_{review}").select("reject").run()
    at.button(key=f"fork_{review}_go").click().run()
    assert [e.value for e in at.error] == [
        "Nothing was forked: pick a reason to reject "
        "(one of: not_business, over_policy, missing_receipt)."
    ]
    at.selectbox(key=f"fork_{review}_reason").select("over_policy").run()
    at.text_area(key=f"fork_{review}_note").input("what if it was over policy").run()
    at.button(key=f"fork_{review}_go").click().run()
    assert not at.exception, at.exception
    [fork] = store.forks_of(run_id)
    new = fork["run_id"]
    assert [s.value for s in at.success] == [
        f"Forked {run_id} at manager into {new}: succeeded (rejected)."
    ]
    assert any(c.value.startswith(f"Forks: {new} at manager by ada") for c in at.caption)
    at.button(key=f"fork_open_{new}").click().run()
    assert at.text_input(key="runs_typed").value == new
    assert [m.value for m in at.metric][:2] == ["succeeded", "expense-approval v1"]
    assert any(
        i.value.startswith(f"Forked from {run_id} at manager by ada")
        and i.value.endswith("reject there while the original still waited.")
        for i in at.info
    )
    assert store.get_run(run_id) == before  # the original is as it was
    assert store.verify_audit_chain()[0]


def test_an_auditor_sees_the_links_but_may_not_fork(seeded: None) -> None:
    run_id = _waiting_expense()
    resources.engine().fork(run_id, "manager", {"action": "approve"}, by="ada")
    at = runs_page("aud")
    at.text_input(key="runs_typed").input(run_id).run()
    assert any(c.value.startswith("Forks: run_") for c in at.caption)
    assert "Forking needs the designer, operator or admin role." in [c.value for c in at.caption]
    assert not [b for b in at.button if b.key and b.key.endswith("_go")]
