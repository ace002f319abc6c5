"""The compiler's checks (DESIGN section 5), all problems at once, and item validation."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from runtime.compiler import Workflow, check, compile_workflow, validate_item
from runtime.errors import ItemError, Problem, SpecError
from runtime.spec import parse_spec

BASE: dict[str, Any] = {
    "id": "base",
    "name": "Base",
    "input": {"amount": {"type": "number", "required": True}},
    "nodes": [
        {"id": "start", "type": "trigger"},
        {"id": "small", "type": "condition", "params": {"when": "item.amount < 50"}},
        {
            "id": "review",
            "type": "approval",
            "params": {"team": "managers", "reason_codes": ["too_much"], "editable": ["amount"]},
        },
        {"id": "note", "type": "set", "params": {"values": {"text": "amount {{ item.amount }}"}}},
        {"id": "done", "type": "end"},
    ],
    "edges": [
        {"from": "start", "to": "small"},
        {"from": "small", "to": "note", "branch": "true"},
        {"from": "small", "to": "review", "branch": "false"},
        {"from": "review", "to": "note", "branch": "approved"},
        {"from": "review", "to": "done", "branch": "rejected"},
        {"from": "note", "to": "done"},
    ],
}


def spec_with(*, nodes=(), edges=(), drop_nodes=(), drop_edges=(), params=None, **top):
    """BASE with nodes/edges added or removed, params replaced per node, top keys set."""
    data = copy.deepcopy(BASE)
    data["nodes"] = [n for n in data["nodes"] if n["id"] not in drop_nodes] + list(nodes)
    data["edges"] = [e for i, e in enumerate(data["edges"]) if i not in drop_edges] + list(edges)
    for node_id, p in (params or {}).items():
        next(n for n in data["nodes"] if n["id"] == node_id)["params"] = p
    data.update(top)
    return parse_spec(data)


def errors_of(spec) -> list[Problem]:
    wf, problems = check(spec)
    assert wf is None, "expected errors"
    errors = [p for p in problems if p.severity == "error"]
    assert errors
    return errors


def only_error(spec) -> Problem:
    errors = errors_of(spec)
    assert len(errors) == 1, [str(p) for p in errors]
    return errors[0]


def error_at(spec, node: str | None, field: str | None = None) -> Problem:
    """The one error about this node (and field); other, consequential errors may exist."""
    errors = [p for p in errors_of(spec) if p.node == node and (field is None or p.field == field)]
    assert len(errors) == 1, [str(p) for p in errors_of(spec)]
    return errors[0]


# ---------------------------------------------------------------- a good workflow


def test_base_compiles():
    wf, problems = check(spec_with())
    assert problems == []
    assert isinstance(wf, Workflow)
    assert wf.trigger == "start"
    assert wf.nodes["small"].branches == ["true", "false"]
    assert wf.nodes["review"].next == {"approved": "note", "rejected": "done"}
    assert wf.nodes["note"].next == {"next": "done"}  # an edge with no branch takes the only one
    assert wf.next_node("small", "false") == "review"
    assert wf.next_node("done", None) is None
    assert set(wf.graph.nodes) == {"start", "small", "review", "note", "done"}
    assert {(u, v, k) for u, v, k in wf.graph.edges(keys=True)} >= {
        ("small", "note", "true"),
        ("small", "review", "false"),
    }
    assert compile_workflow(spec_with()).trigger == "start"


def test_deadline_adds_a_timeout_branch():
    spec = spec_with(params={"review": {"team": "m", "deadline": "2d"}})
    error = only_error(spec)
    assert error.node == "review" and "timeout" in error.message and "lead nowhere" in error.message
    ok = spec_with(
        params={"review": {"team": "m", "deadline": "2d"}},
        edges=[{"from": "review", "to": "done", "branch": "timeout"}],
    )
    wf, _ = check(ok)
    assert wf.nodes["review"].branches == ["approved", "rejected", "timeout"]


# ---------------------------------------------------------------- one check at a time


@pytest.mark.parametrize("count", [0, 2])
def test_exactly_one_trigger(count):
    if count == 0:
        spec = spec_with(drop_nodes=["start"], drop_edges=[0])
    else:
        spec = spec_with(
            nodes=[{"id": "again", "type": "trigger"}], edges=[{"from": "again", "to": "small"}]
        )
    errors = errors_of(spec)
    trigger = [p for p in errors if "exactly one trigger" in p.message]
    assert len(trigger) == 1
    assert f"found {count}" in trigger[0].message
    if count == 2:
        assert "start, again" in trigger[0].message


def test_unreachable_node():
    error = only_error(spec_with(nodes=[{"id": "orphan", "type": "end"}]))
    assert error.node == "orphan"
    assert "unreachable" in error.message


def test_dangling_edge_names_the_missing_node_and_suggests():
    error = only_error(spec_with(edges=[{"from": "done", "to": "dne"}]))
    assert error.node == "done"
    assert error.field == "edges[6]"
    assert "missing node(s) dne" in error.message
    assert "did you mean 'done'" in error.message


def test_dangling_edge_source():
    error = only_error(spec_with(edges=[{"from": "ghost", "to": "done"}]))
    assert error.node is None and error.field == "edges[6]"
    assert "ghost" in error.message


def test_branch_must_be_one_of_the_source_branches():
    error = only_error(spec_with(edges=[{"from": "review", "to": "done", "branch": "maybe"}]))
    assert error.node == "review"
    assert error.field == "edges[6]"
    assert "no branch 'maybe'" in error.message
    assert "approved, rejected" in error.message


def test_edge_without_branch_from_a_multi_branch_node():
    spec = spec_with(drop_edges=[1], edges=[{"from": "small", "to": "note"}])
    error = error_at(spec, "small", "edges[5]")
    assert "needs a branch: one of true, false" in error.message


def test_edge_out_of_an_end_node():
    error = only_error(spec_with(edges=[{"from": "done", "to": "note"}]))
    assert error.node == "done"
    assert "no way out" in error.message


def test_nothing_may_lead_into_the_trigger():
    error = only_error(spec_with(drop_edges=[5], edges=[{"from": "note", "to": "start"}]))
    assert error.node == "note"
    assert "edge note -> start: nothing may lead into the trigger" in error.message


def test_ambiguous_fan_out():
    error = only_error(spec_with(edges=[{"from": "note", "to": "review"}]))
    assert error.node == "note"
    assert "leads to both done and review" in error.message


def test_unconnected_branch():
    error = only_error(spec_with(drop_edges=[4]))
    assert error.node == "review"
    assert "rejected lead nowhere" in error.message


def test_loop_with_no_exit():
    spec = spec_with(
        nodes=[{"id": "again", "type": "set"}, {"id": "more", "type": "set"}],
        drop_edges=[3],
        edges=[
            {"from": "review", "to": "again", "branch": "approved"},
            {"from": "again", "to": "more"},
            {"from": "more", "to": "again"},
        ],
    )
    error = only_error(spec)
    assert "again, more" in error.message
    assert "never reach an end" in error.message
    assert error.node == "again"


def test_revise_loop_with_an_exit_is_fine():
    spec = spec_with(
        nodes=[
            {"id": "draft", "type": "set"},
            {"id": "edit", "type": "feedback", "params": {"show": ["draft"]}},
        ],
        drop_edges=[5],
        edges=[
            {"from": "note", "to": "draft"},
            {"from": "draft", "to": "edit"},
            {"from": "edit", "to": "draft", "branch": "revise"},
            {"from": "edit", "to": "done", "branch": "accepted"},
        ],
    )
    wf, problems = check(spec)
    assert problems == [] and wf is not None


def test_unknown_node_type_suggests_a_close_one():
    error = error_at(
        spec_with(drop_nodes=["note"], nodes=[{"id": "note", "type": "sett"}]), "note", "type"
    )
    assert "unknown node type 'sett'" in error.message
    assert "did you mean 'set'" in error.message


def test_duplicate_node_id():
    errors = errors_of(spec_with(nodes=[{"id": "note", "type": "end"}]))
    assert any(p.node == "note" and "duplicate" in p.message for p in errors)


def test_empty_workflow_and_no_end():
    messages = [p.message for p in errors_of(parse_spec({"id": "e", "name": "E"}))]
    assert any("no nodes" in m for m in messages)
    no_end = spec_with(
        drop_nodes=["done"],
        drop_edges=[4, 5],
        nodes=[{"id": "done", "type": "set"}],
        edges=[
            {"from": "review", "to": "done", "branch": "rejected"},
            {"from": "note", "to": "done"},
        ],
    )
    assert any("no end node" in p.message for p in errors_of(no_end))


# ---------------------------------------------------------------- params


@pytest.mark.parametrize(
    ("node", "params", "field", "fragment"),
    [
        (
            "small",
            {"when": "item.amount < 50", "whn": 1},
            "params.whn",
            "unknown parameter for condition",
        ),
        ("small", {}, "params.when", "required parameter is missing (Expression"),
        ("review", {"team": "m", "priority": "asap"}, "params.priority", "Input should be"),
        ("review", {"team": "m", "deadline": "soon"}, "params.deadline", "not a duration"),
        ("review", {"team": "m", "reason_codes": "x"}, "params.reason_codes", "valid list"),
        ("note", {"values": ["a"]}, "params.values", "valid dictionary"),
        ("done", {"result": ["x"]}, "params.result", "valid string"),
    ],
)
def test_params_are_validated(node, params, field, fragment):
    error = error_at(spec_with(params={node: params}), node, field)
    assert fragment in error.message


def test_unknown_parameter_suggests_a_close_one():
    error = error_at(spec_with(params={"review": {"teem": "m"}}), "review", "params.teem")
    assert "did you mean 'team'" in error.message


@pytest.mark.parametrize(
    "change",
    [
        {"params": {"review": {"team": "m", "priority": "asap"}}},
        {"params": {"small": {}}},
        {"drop_nodes": ["note"], "nodes": [{"id": "note", "type": "sett"}]},
    ],
    ids=["bad-param", "missing-param", "unknown-type"],
)
def test_a_bad_node_gives_one_problem_not_a_cascade(change):
    only_error(spec_with(**change))


@pytest.mark.parametrize(
    ("node", "fragment"),
    [
        (
            {"id": "gate", "type": "confidence_gate", "params": {"of": "ghost", "threshold": 0.5}},
            "of names 'ghost'",
        ),
        (
            {"id": "gate", "type": "confidence_gate", "params": {"of": "note", "threshold": 1.5}},
            "less than or equal to 1",
        ),
        (
            {"id": "gate", "type": "approval", "params": {"editable": ["ghost.label"]}},
            "names no node 'ghost'",
        ),
        ({"id": "gate", "type": "feedback", "params": {"show": ["ghost"]}}, "'ghost'"),
        (
            {
                "id": "gate",
                "type": "approval",
                "params": {"deadline": "1d", "on_timeout": "escalate"},
            },
            "escalate_to must name",
        ),
        (
            {"id": "gate", "type": "approval", "params": {"on_timeout": "approve"}},
            "no deadline is set",
        ),
        (
            {
                "id": "gate",
                "type": "human_input",
                "params": {"form": [{"name": "x", "type": "select"}]},
            },
            "needs options",
        ),
        ({"id": "gate", "type": "human_input", "params": {"form": []}}, "at least 1"),
        (
            {
                "id": "gate",
                "type": "human_input",
                "params": {"form": [{"name": "x"}, {"name": "x"}]},
            },
            "unique",
        ),
        (
            {
                "id": "gate",
                "type": "human_input",
                "params": {"form": [{"name": "x"}], "deadline": "1h", "on_timeout": "approve"},
            },
            "cannot be decided by default",
        ),
        ({"id": "gate", "type": "switch", "params": {"value": "x", "cases": ["a", "a"]}}, "unique"),
        (
            {"id": "gate", "type": "switch", "params": {"value": "x", "cases": ["default"]}},
            "fallback",
        ),
        ({"id": "gate", "type": "escalation", "params": {"when": "true"}}, "missing"),
        (
            {"id": "gate", "type": "record_write", "params": {"key": "k", "table": "Bad Table"}},
            "pattern",
        ),
    ],
)
def test_node_specific_checks(node, fragment):
    errors = errors_of(spec_with(nodes=[node]))
    mine = [
        p
        for p in errors
        if p.node == "gate" and "unreachable" not in p.message and "lead nowhere" not in p.message
    ]
    assert len(mine) == 1, [str(p) for p in errors]
    assert fragment in mine[0].message


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"when": "item.amount <"}, "syntax error"),
        ({"when": "amount < 50"}, "unknown name 'amount'"),
        ({"when": "item.__class__"}, "private attribute"),
        ({"when": "steps.ghost.x"}, "steps.ghost"),
        ({"when": ""}, "empty"),
    ],
)
def test_bad_expression(params, fragment):
    error = only_error(spec_with(params={"small": params}))
    assert (error.node, error.field) == ("small", "params.when")
    assert fragment in error.message


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"text": "{{ item.amount "}, "template syntax error"),
        ({"text": "{% if item.amount %}x"}, "template syntax error"),
        ({"nested": {"deep": ["ok", "{{ customer }}"]}}, "unknown name(s) customer"),
        ({"text": "{{ steps.ghost.label }}"}, "steps.ghost"),
    ],
)
def test_bad_template(values, fragment):
    error = only_error(spec_with(params={"note": {"values": values}}))
    assert (error.node, error.field) == ("note", "params.values")
    assert fragment in error.message


def test_non_template_params_are_not_checked_as_templates():
    # team is plain text, not a template: braces there are not parsed.
    wf, problems = check(spec_with(params={"review": {"team": "{{ weird"}}))
    assert wf is not None and problems == []


# ---------------------------------------------------------------- sensitive actions


def _sensitive(guarded: bool, **review_params):
    nodes = [
        {
            "id": "wipe",
            "type": "record_delete",
            "sensitive": True,
            "params": {"table": "accounts", "key": "{{ item.amount }}"},
        }
    ]
    if guarded:
        source = {"from": "review", "to": "wipe", "branch": "approved"}
        drop = [3]
    else:
        source = {"from": "small", "to": "wipe", "branch": "true"}
        drop = [1]
    spec = spec_with(
        nodes=nodes,
        drop_edges=drop,
        edges=[
            source,
            {"from": "wipe", "to": "note", "branch": "next"},
            {"from": "wipe", "to": "done", "branch": "error"},
        ]
        + (
            [{"from": "review", "to": "done", "branch": "timeout"}]
            if review_params.get("on_timeout") == "timeout"
            else []
        ),
    )
    if review_params:
        spec = spec.model_copy(deep=True)
        spec.node("review").params.update(review_params)
    return spec


def test_unguarded_sensitive_action_is_a_warning():
    spec = _sensitive(guarded=False)
    wf, problems = check(spec)
    assert wf is not None  # a warning does not block running
    (warning,) = problems
    assert warning.severity == "warning"
    assert warning.node == "wipe"
    assert "start -> small -> wipe" in warning.message
    assert wf.warnings == [warning]
    assert str(warning).startswith("warning: node wipe:")
    compile_workflow(spec)  # not strict: fine
    with pytest.raises(SpecError) as info:
        compile_workflow(spec, strict=True)
    assert info.value.problems == [warning]
    assert "wipe" in str(info.value)


def test_guarded_sensitive_action_is_fine():
    wf, problems = check(_sensitive(guarded=True))
    assert wf is not None and problems == []
    compile_workflow(_sensitive(guarded=True), strict=True)


def test_only_actions_can_be_sensitive():
    spec = spec_with()
    spec.node("note").sensitive = True
    wf, problems = check(spec)
    assert wf is not None
    assert ("note", "sensitive", "warning") in [(p.node, p.field, p.severity) for p in problems]
    assert all(p.severity == "warning" for p in problems)


def test_escalation_does_not_guard_a_sensitive_action():
    spec = _sensitive(guarded=False)
    spec = spec.model_copy(deep=True)
    esc = spec.node("small")
    esc.type, esc.params = "escalation", {"when": "item.amount > 50", "team": "finance"}
    for e in spec.edges:
        if e.source == "small":
            e.branch = {"true": "pass", "false": "rejected"}[e.branch]
    _, problems = check(spec)
    assert any(p.node == "wipe" and p.severity == "warning" for p in problems), problems


def test_default_approval_at_deadline_does_not_guard():
    spec = _sensitive(guarded=True, deadline="1h", on_timeout="approve")
    wf, problems = check(spec)
    assert wf is not None, problems
    assert any(p.node == "wipe" and p.severity == "warning" for p in problems), problems


def test_a_timeout_branch_does_not_guard():
    """Only the branches a person chooses guard: an item that timed out was seen by nobody."""
    spec = _sensitive(guarded=True, deadline="1h", on_timeout="timeout").model_copy(deep=True)
    for e in spec.edges:
        if e.source == "review" and e.branch == "timeout":
            e.target = "wipe"
    wf, problems = check(spec)
    assert wf is not None, problems
    [warning] = [p for p in problems if p.node == "wipe"]
    assert "review -> wipe" in warning.message


def test_guarding_is_what_the_node_type_declares(monkeypatch):
    """The compiler asks the node type (guards_with, person_branches), not the params."""
    from runtime import nodes
    from runtime.nodes.approval import Approval

    class RubberStamp(Approval):
        type_name = "rubber_stamp"

        def guards_with(self, params):
            return False

    nodes.node_types()
    monkeypatch.setitem(nodes._REGISTRY, "rubber_stamp", RubberStamp())
    spec = _sensitive(guarded=True).model_copy(deep=True)
    assert check(spec)[1] == []
    spec.node("review").type = "rubber_stamp"
    wf, problems = check(spec)
    assert wf is not None
    assert [(p.node, p.severity) for p in problems] == [("wipe", "warning")]


# ---------------------------------------------------------------- all at once


def test_every_problem_is_returned_at_once_with_node_ids():
    spec = parse_spec(
        {
            "id": "broken",
            "name": "Broken",
            "nodes": [
                {"id": "start", "type": "trigger"},
                {"id": "cond", "type": "condition", "params": {"when": "item.x >"}},
                {"id": "calc", "type": "set", "params": {"values": {"a": "{{ item.x "}}},
                {"id": "mystery", "type": "wat"},
                {"id": "ask", "type": "approval", "params": {"bogus": 1}},
                {
                    "id": "route",
                    "type": "switch",
                    "params": {"value": "{{ item.k }}", "cases": ["x", "y"]},
                },
                {"id": "orphan", "type": "end"},
                {"id": "done", "type": "end"},
            ],
            "edges": [
                {"from": "start", "to": "route"},
                {"from": "route", "to": "done", "branch": "x"},
                {"from": "route", "to": "done", "branch": "y"},
                {"from": "route", "to": "done", "branch": "z"},
                {"from": "route", "to": "nowhere", "branch": "default"},
            ],
        }
    )
    wf, problems = check(spec)
    assert wf is None
    got = {(p.node, p.field) for p in problems}
    expected = {
        ("cond", "params.when"),
        ("calc", "params.values"),
        ("mystery", "type"),
        ("ask", "params.bogus"),
        ("route", "edges[3]"),
        ("route", "edges[4]"),
        ("orphan", None),
    }
    assert expected <= got, sorted(map(str, problems))
    assert any(p.node == "route" and "default lead nowhere" in p.message for p in problems)
    with pytest.raises(SpecError) as info:
        compile_workflow(spec)
    assert info.value.problems == problems
    assert info.value.workflow_id == "broken"
    for node in ("cond", "calc", "mystery", "ask", "route", "orphan"):
        assert f"node {node}" in str(info.value)


# ---------------------------------------------------------------- items

ITEM_SPEC = parse_spec(
    {
        "id": "items",
        "name": "Items",
        "input": {
            "name": {"type": "string", "required": True},
            "amount": {"type": "number", "required": True},
            "count": {"type": "integer", "default": 1},
            "urgent": {"type": "boolean"},
            "kind": {"type": "string", "enum": ["a", "b"], "default": "a"},
            "size": {"type": "integer", "enum": [1, 2, 3]},
            "meta": {"type": "object"},
            "tags": {"type": "array"},
        },
    }
)


def test_valid_item_gets_defaults_and_keeps_extra_fields():
    out = validate_item(ITEM_SPEC, {"name": "x", "amount": 5, "other": 1})
    assert out == {
        "name": "x",
        "amount": 5,
        "count": 1,
        "urgent": None,
        "kind": "a",
        "size": None,
        "meta": None,
        "tags": None,
        "other": 1,
    }


def test_csv_strings_are_converted():
    row = {"name": "x", "amount": " 12.5 ", "count": "3", "urgent": "yes", "kind": "b", "size": "2"}
    out = validate_item(ITEM_SPEC, row)
    assert out["amount"] == 12.5 and out["count"] == 3 and out["urgent"] is True
    assert out["size"] == 2 and out["kind"] == "b"
    for text, value in [("true", True), ("1", True), ("No", False), ("0", False)]:
        assert validate_item(ITEM_SPEC, {**row, "urgent": text})["urgent"] is value
    # an empty CSV cell of a non-string field counts as missing
    assert validate_item(ITEM_SPEC, {**row, "count": ""})["count"] == 1


@pytest.mark.parametrize(
    ("item", "field", "fragment"),
    [
        ({"amount": 1}, "name", "required field is missing"),
        ({"name": "x"}, "amount", "required field is missing"),
        ({"name": "x", "amount": None}, "amount", "required field is missing"),
        ({"name": "x", "amount": ""}, "amount", "required field is missing"),
        ({"name": "x", "amount": "abc"}, "amount", "expected a number, got 'abc'"),
        ({"name": "x", "amount": True}, "amount", "expected a number"),
        ({"name": "x", "amount": [1]}, "amount", "expected a number"),
        ({"name": 5, "amount": 1}, "name", "expected a string"),
        ({"name": "x", "amount": 1, "count": 1.5}, "count", "expected a integer"),
        ({"name": "x", "amount": 1, "count": "1.5"}, "count", "got '1.5'"),
        ({"name": "x", "amount": 1, "urgent": "maybe"}, "urgent", "expected a boolean"),
        ({"name": "x", "amount": 1, "urgent": 1}, "urgent", "expected a boolean"),
        ({"name": "x", "amount": 1, "kind": "c"}, "kind", "'c' is not one of a, b"),
        ({"name": "x", "amount": 1, "size": "7"}, "size", "7 is not one of 1, 2, 3"),
        ({"name": "x", "amount": 1, "meta": "{}"}, "meta", "expected a object"),
        ({"name": "x", "amount": 1, "tags": {"a": 1}}, "tags", "expected a array"),
    ],
)
def test_bad_items(item, field, fragment):
    with pytest.raises(ItemError) as info:
        validate_item(ITEM_SPEC, item)
    (problem,) = info.value.problems
    assert problem.field == field
    assert fragment in problem.message
    assert str(info.value).startswith("item for workflow items: field ")


def test_every_item_problem_is_reported():
    with pytest.raises(ItemError) as info:
        validate_item(ITEM_SPEC, {"amount": "x", "kind": "z", "urgent": "perhaps"})
    assert [p.field for p in info.value.problems] == ["name", "amount", "urgent", "kind"]


@pytest.mark.parametrize("item", [None, [], "text", 5])
def test_item_must_be_an_object(item):
    with pytest.raises(ItemError, match="must be a JSON object"):
        validate_item(ITEM_SPEC, item)


@pytest.mark.parametrize("text", ["NaN", "inf"])
def test_csv_nan_is_not_a_number(text):
    with pytest.raises(ItemError):
        validate_item(ITEM_SPEC, {"name": "x", "amount": text})


# ---------------------------------------------------------------- server allow-lists


def _webhook_spec(url: str):
    edges = [
        {"from": "note", "to": "hook"},
        {"from": "hook", "to": "done", "branch": "next"},
        {"from": "hook", "to": "done", "branch": "error"},
    ]
    hook = {"id": "hook", "type": "webhook", "params": {"url": url}}
    return spec_with(nodes=[hook], drop_edges=[5], edges=edges)


def test_node_checks_get_the_policy_passed_in_not_the_environment(monkeypatch):
    from runtime.settings import OutboundPolicy

    monkeypatch.delenv("LOOPGATE_WEBHOOK_HOSTS", raising=False)
    spec = _webhook_spec("https://evil.example/x")
    assert check(spec)[1] == []  # the environment: any host
    strict = OutboundPolicy(webhook_hosts=("hooks.example.com",))
    problem = only_error_with(spec, strict)
    assert (problem.node, problem.field) == ("hook", "params.url")
    assert "not an allowed webhook host" in problem.message
    with pytest.raises(SpecError, match=r"node hook: field params\.url"):
        compile_workflow(spec, policy=strict)


def test_the_default_policy_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("LOOPGATE_WEBHOOK_HOSTS", "hooks.example.com")
    assert (
        "LOOPGATE_WEBHOOK_HOSTS"
        in error_at(_webhook_spec("https://evil.example/x"), "hook").message
    )
    assert check(_webhook_spec("https://hooks.example.com/x"))[1] == []


def only_error_with(spec, policy) -> Problem:
    wf, problems = check(spec, policy=policy)
    assert wf is None and len(problems) == 1, [str(p) for p in problems]
    return problems[0]
