"""Undo and redo of canvas edits in the Builder (issue 17 item 5), through Streamlit's
AppTest: a node added, deleted, moved, connected, a parameter changed; the buttons are
disabled when there is nothing to take back; a new edit clears Redo; the stack is bounded."""

from __future__ import annotations

import copy

from streamlit.testing.v1 import AppTest

from builder.design import editor
from tests.pages.test_app_pages import builder
from tests.pages.test_builder_saves import open_expenses, set_team


def snapshot(at: AppTest) -> tuple:
    """What an undo must restore: nodes with their data and positions, edges with branches."""
    state = at.session_state["bld"].state
    nodes = sorted(
        (
            n.id,
            n.data.get("lg_type"),
            repr(n.data.get("lg_params")),
            n.position["x"],
            n.position["y"],
        )
        for n in state.nodes
    )
    return nodes, sorted((e.source, e.target, e.label) for e in state.edges)


def undo(at: AppTest) -> AppTest:
    return at.button(key="bld_undo").click().run()


def redo(at: AppTest) -> AppTest:
    return at.button(key="bld_redo").click().run()


def assert_undo_redo(at: AppTest, before: tuple, after: tuple) -> AppTest:
    """Undo brings back ``before``, Redo ``after``; the buttons say when they can act."""
    assert snapshot(at) == after != before
    assert not at.button(key="bld_undo").disabled
    assert at.button(key="bld_redo").disabled
    at = undo(at)
    assert not at.exception, at.exception
    assert snapshot(at) == before
    assert not at.button(key="bld_redo").disabled
    at = redo(at)
    assert snapshot(at) == after
    return at


def test_nothing_to_undo_on_a_fresh_canvas(seeded: None) -> None:
    at = open_expenses(builder())
    assert at.button(key="bld_undo").disabled and at.button(key="bld_redo").disabled


def test_undo_redo_a_node_added_and_deleted(seeded: None) -> None:
    at = open_expenses(builder())
    before = snapshot(at)
    at = at.button(key="pal_approval").click().run()
    added = snapshot(at)
    assert len(added[0]) == len(before[0]) + 1
    at = assert_undo_redo(at, before, added)
    at.session_state["bld"].selected = "auto_ok"
    at.run()
    at = at.button(key="bld_del_auto_ok").click().run()
    deleted = snapshot(at)
    assert "auto_ok" not in {n[0] for n in deleted[0]}
    assert_undo_redo(at, added, deleted)


def test_undo_redo_a_parameter_changed(seeded: None) -> None:
    at = open_expenses(builder())
    before = snapshot(at)
    at = set_team(at, "manager", "finance")
    after = snapshot(at)
    assert "finance" in next(n[2] for n in after[0] if n[0] == "manager")
    at = assert_undo_redo(at, before, after)
    # an undone change is what the test run and the save see, too
    at = undo(at)
    spec, _ = at.session_state["bld"].spec()
    assert next(n for n in spec.nodes if n.id == "manager").params["team"] == "managers"


def test_undo_redo_a_connection(seeded: None) -> None:
    at = open_expenses(builder())
    before = snapshot(at)
    at.selectbox(key="bld_c_from_expense-approval").select("auto_ok")
    at.run()
    at.selectbox(key="bld_c_to_expense-approval").select("refused")
    at = at.button(key="bld_c_go").click().run()
    after = snapshot(at)
    assert ("auto_ok", "refused", "next") in after[1]
    assert_undo_redo(at, before, after)


def test_undo_redo_a_move_made_in_the_browser(seeded: None) -> None:
    at = open_expenses(builder())
    before = snapshot(at)
    ed: editor.Editor = at.session_state["bld"]
    sent = copy.deepcopy(ed.state)  # what the browser sends after a drag: a newer state
    sent.timestamp = ed.state.timestamp + 5
    sent.nodes[0].position = {"x": 1234.0, "y": -56.0}
    ed.accept(sent)
    at.run()
    after = snapshot(at)
    assert (1234.0, -56.0) in {(n[3], n[4]) for n in after[0]}
    at = assert_undo_redo(at, before, after)
    # the echo of a state the browser already showed is no move
    ed = at.session_state["bld"]
    depth = len(ed.undo_stack)
    ed.accept(copy.deepcopy(ed.state))
    assert len(ed.undo_stack) == depth


def test_a_new_edit_clears_redo_and_the_stack_is_bounded(seeded: None) -> None:
    at = open_expenses(builder())
    at = at.button(key="pal_approval").click().run()
    at = undo(at)
    assert not at.button(key="bld_redo").disabled
    at = at.button(key="pal_audit").click().run()
    assert at.button(key="bld_redo").disabled
    ed: editor.Editor = at.session_state["bld"]
    for _ in range(editor.UNDO_LIMIT + 5):
        ed.replace(copy.deepcopy(ed.state))
    assert len(ed.undo_stack) == editor.UNDO_LIMIT
    while ed.undo():
        pass
    assert len(ed.redo_stack) == editor.UNDO_LIMIT
