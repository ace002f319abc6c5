"""Comparing two versions of a workflow: nodes, edges, parameters, inputs, layout."""

from __future__ import annotations

from runtime.spec import load_yaml
from runtime.workflow_diff import diff_workflows
from tests.e2e.clihelp import EXAMPLES


def expense():
    return load_yaml(EXAMPLES / "expense-approval.yaml")


def test_the_same_workflow_has_no_changes():
    d = diff_workflows(expense(), expense())
    assert d.same_behaviour and not d.layout_only
    assert d.summary() == "no changes" and d.lines() == []


def test_parameters_nodes_edges_and_inputs_are_named():
    before, after = expense(), expense()
    node = after.nodes[2]
    node.params = {**node.params, "team": "auditors", "priority": "high"}
    node.params.pop("instructions", None)
    after.nodes.append(
        after.nodes[0].model_copy(update={"id": "extra", "type": "end", "params": {}})
    )
    removed = after.edges.pop()
    after.input["amount"].required = not after.input["amount"].required
    after.name = "Expenses v2"
    d = diff_workflows(before, after)
    changed = {n.id: n for n in d.nodes}
    assert changed["extra"].kind == "added" and changed["extra"].type == "end"
    paths = {c.path: c for c in changed[node.id].changes}
    assert paths["params.priority"].kind in ("added", "changed")
    assert paths["params.priority"].after == "high"
    assert [e.describe() for e in d.edges] == [
        f"{removed.source} --{removed.branch or 'next'}--> {removed.target}"
    ]
    assert d.edges[0].kind == "removed"
    assert [c.path for c in d.input] == ["input.amount.required"]
    assert [c.path for c in d.workflow] == ["name"]
    assert "1 node added" in d.summary() and "1 edge removed" in d.summary()
    text = "\n".join(d.lines())
    assert "+ node extra (end)" in text and f"~ node {node.id}" in text
    assert "- edge " in text and "~ name: 'Expense approval' -> 'Expenses v2'" in text


def test_removed_nodes_and_moved_nodes():
    before, after = expense(), expense()
    before.nodes[0].position = (0.0, 0.0)
    gone = after.nodes.pop()
    after.nodes[0].position = (999.0, 1.0)
    d = diff_workflows(before, after)
    assert [(n.id, n.kind) for n in d.nodes] == [(gone.id, "removed")]
    assert d.moved == [after.nodes[0].id]
    laid_out = expense()
    laid_out.nodes[1].position = (3.0, 4.0)  # stored without positions: a layout, not a move
    assert diff_workflows(expense(), laid_out).moved == []
    only_moved = diff_workflows(
        before,
        expense().model_copy(
            update={
                "nodes": [
                    before.nodes[0].model_copy(update={"position": (5.0, 5.0)}),
                    *before.nodes[1:],
                ]
            }
        ),
    )
    assert only_moved.layout_only and only_moved.summary() == "only node positions changed"


def test_a_nested_parameter_change_is_named_by_its_path():
    before, after = expense(), expense()
    before.nodes[1].params = {"form": {"a": 1, "b": {"c": 2}}}
    after.nodes[1].params = {"form": {"a": 1, "b": {"c": 3}, "d": 4}}
    d = diff_workflows(before, after)
    (node,) = d.nodes
    assert [(c.path, c.kind, c.before, c.after) for c in node.changes] == [
        ("params.form.b.c", "changed", 2, 3),
        ("params.form.d", "added", None, 4),
    ]
    assert node.changes[0].describe() == "params.form.b.c: 2 -> 3"
