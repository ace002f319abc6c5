"""The app's pages through Streamlit's AppTest: sign-in gate, home, and the Builder's logic."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from builder.shell import resources

ROOT = Path(__file__).resolve().parents[2]


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)


def signed_in(user: str = "dev") -> AppTest:
    at = app()
    at.session_state["lg_user"] = user
    return at.run()


def test_nothing_is_readable_before_sign_in(seeded: None) -> None:
    at = app().run()
    assert not at.exception
    assert at.title[0].value.endswith("Loopgate")
    assert "Sign in" in [s.value for s in at.subheader]
    assert any("Demo accounts" in i.value for i in at.info)
    assert "Workflows" not in [m.label for m in at.metric]


def test_wrong_password_says_so_and_right_one_signs_in(seeded: None) -> None:
    at = app().run()
    at.text_input(key="sign_in_name").input("dev")
    at.text_input(key="sign_in_password").input("nope")
    at.button[0].click().run()
    assert any("wrong password" in e.value for e in at.error)
    at.text_input(key="sign_in_password").input("loopgate-demo")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["lg_user"] == "dev"
    at.switch_page("pages/home.py").run()
    assert [m.label for m in at.metric][:2] == ["Workflows", "Waiting for review"]


def test_pages_refuse_visitors_who_are_not_signed_in(seeded: None) -> None:
    at = app()
    at.switch_page("pages/home.py").run()
    assert not at.metric
    at = app()
    at.switch_page("pages/builder.py").run()
    assert "bld" not in at.session_state


def test_home_lists_the_seeded_workflows(seeded: None) -> None:
    at = signed_in("ada")
    assert not at.exception
    assert at.metric[0].value == str(len(list((ROOT / "examples").glob("*.yaml"))))
    assert int(at.metric[1].value) > 0


def test_home_counts_only_what_the_user_may_see(seeded: None) -> None:
    admin, designer = signed_in("ada"), signed_in("dev")
    assert not designer.exception
    assert designer.metric[0].value == admin.metric[0].value  # every workflow is readable
    # dev is in no team: none of the seeded reviews (all for teams) are theirs to see
    assert int(designer.metric[1].value) == 0 < int(admin.metric[1].value)


def builder(user: str = "dev") -> AppTest:
    at = signed_in(user)
    at.switch_page("pages/builder.py").run()
    assert not at.exception, at.exception
    return at


def test_builder_loads_adds_a_node_and_saves_a_version(seeded: None) -> None:
    at = builder()
    ed = at.session_state["bld"]
    first = ed.base.id
    assert ed.version == 1 and len(ed.state.nodes) > 2
    before = len(ed.state.nodes)
    at.button(key="pal_approval").click().run()
    assert not at.exception
    ed = at.session_state["bld"]
    assert len(ed.state.nodes) == before + 1 and ed.selected.startswith("approval")
    # The new node is not connected: the problems panel says so, and saving makes a draft.
    assert any("unreachable" in e.value for e in at.error)
    at.text_input(key="bld_save_msg").input("added an approval")
    at.button(key="bld_save_go").click().run()
    ed = at.session_state["bld"]
    assert ed.version == 2 and ed.status == "draft"
    assert any("Saved as draft v2" in w.value for w in at.warning)
    versions = resources.engine().store.list_workflow_versions(first)
    assert [v["status"] for v in versions] == ["draft", "published"]
    # Runs keep using the newest published version.
    assert resources.engine().workflow(first).version == 1


def test_builder_form_errors_show_at_the_field(seeded: None) -> None:
    at = builder()
    at.button(key="pal_confidence_gate").click().run()
    node_id = at.session_state["bld"].selected
    at.text_input(key=f"bld_w_{node_id}_threshold").input("2.5")
    at.button(key=f"FormSubmitter:bld_form_{node_id}-Apply").click().run()
    errors = at.session_state[f"bld_err_{node_id}"]
    assert "threshold" in errors and "1" in errors["threshold"]
    assert not at.exception


def test_reviewers_do_not_get_the_builder(seeded: None) -> None:
    at = signed_in("rae")
    assert not at.exception
    assert not [b for b in at.button if b.label == "Open in Builder"]


def _items_tab_text(at: AppTest) -> str:
    tab = next(t for t in at.tabs if t.label == "Run items")
    return "\n".join(
        str(e.value) for kind in ("caption", "info", "markdown", "error") for e in tab.get(kind)
    )


def test_builder_run_items_tab_says_which_version_runs(seeded: None) -> None:
    at = builder()
    assert [t.label for t in at.tabs][:3] == ["Test run", "Run items", "Versions"]
    wid = at.session_state["bld"].base.id
    text = _items_tab_text(at)
    assert "runs the newest published version **v1**" in text and f"`{wid}`" in text
    # A draft saved on top: v1 still runs, and the tab says the canvas is not what runs.
    at.button(key="pal_approval").click().run()
    at.text_input(key="bld_save_msg").input("unfinished")
    at.button(key="bld_save_go").click().run()
    assert at.session_state["bld"].status == "draft"
    text = _items_tab_text(at)
    assert "version **v1**" in text and "v2 (draft), which is not the version that runs" in text


def test_builder_run_items_needs_a_published_version(seeded: None) -> None:
    at = builder()
    at.text_input(key="bld_new_id").input("brand-new")
    at.button(key="bld_new_go").click().run()
    assert not at.exception
    assert "`brand-new` has no published version yet" in _items_tab_text(at)
    assert "save a version without errors first" in _items_tab_text(at).lower()
    assert not [b for b in at.button if b.label.startswith("Start ")]


def test_builder_run_items_summary_survives_reruns(seeded: None) -> None:
    from builder.design.batch_panel import BatchItemError, start_batch
    from runtime.items import read_items

    at = builder()
    items, digest = read_items(ROOT / "examples" / "items" / "expense-approval.jsonl")
    summary = start_batch(resources.engine(), "expense-approval", items, digest, "dev")
    summary.bad = [BatchItemError(index=i, error=f"item: field amount: bad {i}") for i in range(25)]
    at.session_state["bld_open_pick"] = "expense-approval"
    at.button(key="bld_open_go").click().run()
    at.session_state["bld_batch_expense-approval"] = summary
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Started"] == "4" and metrics["Waiting for review"] == "2"
    assert metrics["Succeeded"] == "2" and metrics["Failed"] == "0"
    assert metrics["Bad items"] == "25"
    text = _items_tab_text(at)
    assert "item 1: field amount: bad 0" in text and "and 5 more" in text
    assert "item 21:" not in text
    assert "loopgate reviews --workflow expense-approval" in text


def test_builder_test_run_routes_a_choice_with_one_button_per_option(seeded: None) -> None:
    at = builder()
    at.session_state["bld_open_pick"] = "budget-routing"
    at.button(key="bld_open_go").click().run()
    assert at.session_state["bld"].base.id == "budget-routing"
    for name, value in {"request_id": "B-9", "title": "Booth", "amount": "900"}.items():
        at.text_input(key=f"bld_ti_budget-routing_{name}").input(value)
    at.button(key="FormSubmitter:bld_test_item-Run test").click().run()
    assert not at.exception, at.exception
    review_id = at.session_state["bld"].test_run.review_id
    labels = [b.label for b in at.button if b.key and b.key.startswith(f"bld_ro_{review_id}")]
    assert labels == ["marketing", "research", "infrastructure"]
    at.text_input(key=f"bld_rf_{review_id}_budget_code").input("MK-1")
    at.button(key=f"bld_ro_{review_id}_marketing").click().run()
    assert not at.exception, at.exception
    res = at.session_state["bld"].test_run
    assert (res.status, res.result) == ("succeeded", "routed")
    assert res.outputs["route"]["choice"] == "marketing"
    assert res.outputs["route"]["data"] == {"budget_code": "MK-1"}
    assert "to_marketing" in at.session_state["bld"].path
