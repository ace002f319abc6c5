"""The Builder's saves say what they did, versions can be compared and restored, and test
runs say which version they use (issue 17 items 2 and 3), through Streamlit's AppTest."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from builder.shell import resources
from tests.pages.test_app_pages import builder


def messages(at: AppTest) -> list[str]:
    return [m.value for kind in ("success", "info", "warning", "error") for m in at.get(kind)]


def save(at: AppTest, message: str = "") -> AppTest:
    at.text_input(key="bld_save_msg").input(message)
    return at.button(key="bld_save_go").click().run()


def set_team(at: AppTest, node_id: str, team: str) -> AppTest:
    at.session_state["bld"].selected = node_id
    at.run()
    at.text_input(key=f"bld_w_{node_id}_team").input(team)
    return at.button(key=f"FormSubmitter:bld_form_{node_id}-Apply").click().run()


def open_expenses(at: AppTest) -> AppTest:
    at.session_state["bld_open_pick"] = "expense-approval"
    return at.button(key="bld_open_go").click().run()


def test_saving_an_unchanged_workflow_makes_no_version(seeded: None) -> None:
    at = open_expenses(builder())
    captions = [c.value for c in at.caption]
    assert any("on the canvas: v1, as saved" in c for c in captions), captions
    at = save(at)
    assert "Nothing to save: the canvas is expense-approval v1 as stored." in messages(at)
    versions = resources.engine().store.list_workflow_versions("expense-approval")
    assert [v["version"] for v in versions] == [1]


def test_a_save_says_what_changed_and_the_message_stays(seeded: None) -> None:
    at = open_expenses(builder())
    at = set_team(at, "manager", "finance")
    captions = [c.value for c in at.caption]
    assert any("unsaved changes on top of v1" in c for c in captions), captions
    at = save(at, "finance decides")
    said = "Saved expense-approval v2: 1 node changed since v1."
    assert said in messages(at)
    at.run()  # the canvas reruns the page: the message stays until the next edit
    assert said in messages(at)
    at = set_team(at, "manager", "managers")
    assert said not in messages(at)


def test_create_with_an_existing_id_warns(seeded: None) -> None:
    at = builder()
    at.text_input(key="bld_new_id").input("expense-approval")
    at.button(key="bld_new_go").click().run()
    assert any("exists already" in w.value for w in at.warning)
    assert (
        at.session_state["bld"].base.id != "expense-approval"
        or at.session_state["bld"].version == 1
    )
    at.text_input(key="bld_new_id").input("")
    at.button(key="bld_new_go").click().run()
    assert any("Type an id" in w.value for w in at.warning)


def test_versions_tab_compares_and_restores(seeded: None) -> None:
    at = open_expenses(builder())
    at = save(set_team(at, "manager", "finance"), "finance")
    code = [c.value for c in at.code]
    assert any("params.team: 'managers' -> 'finance'" in c for c in code), code
    assert any("v1 → v2: 1 node changed" in c.value for c in at.caption)
    at.selectbox(key="bld_v_pick_expense-approval").select(1).run()
    at.button(key="bld_v_restore").click().run()
    assert not at.exception, at.exception
    assert "Restored v1 as v3." in messages(at)
    ed = at.session_state["bld"]
    assert ed.version == 3
    versions = resources.engine().store.list_workflow_versions("expense-approval")
    assert versions[0]["message"] == "restored from v1"
