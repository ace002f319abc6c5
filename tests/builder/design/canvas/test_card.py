"""How nodes and edges look: data keys, React Flow types, colours, badges, escaping, marks."""

from __future__ import annotations

from types import SimpleNamespace

from builder.design import canvas
from builder.design.canvas import add_node, edge_id, parse_edge_id, spec_to_state, update_node
from builder.design.canvas.card import edge_style, escape_markdown, mark, node_icon
from runtime.compiler import check
from runtime.errors import Problem
from runtime.nodes import get_node_type
from runtime.spec import WorkflowSpec
from tests.builder.design.canvas.support import node_at


def test_node_data_and_react_flow_types(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    start, ok, wipe, done = (node_at(state, i) for i in ("start", "ok", "wipe", "done"))
    assert (start.type, done.type, ok.type) == ("input", "output", "default")
    assert ok.data[canvas.K_TYPE] == "approval"
    assert ok.data[canvas.K_ID] == "ok"
    assert ok.data[canvas.K_PARAMS] == {"team": "managers"}
    assert ok.data[canvas.K_SENSITIVE] is False
    assert wipe.data[canvas.K_SENSITIVE] is True
    # checkpoints are unmistakable: thick amber border and a badge
    assert "⏸ **checkpoint**" in ok.data["content"]
    assert ok.style["border"].startswith("4px solid #d97706")
    # sensitive actions get a red marker
    assert "🔴" in wipe.data["content"]
    assert "dc2626" in wipe.style["borderLeft"]
    # families have their own colours
    colours = {node_at(state, i).style["border"].split()[-1] for i in ("big", "ok", "wipe")}
    assert len(colours) == 3


def test_styles_and_markers_are_fresh_dicts(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    assert len({id(n.style) for n in state.nodes}) == len(state.nodes)
    for attr in ("style", "marker_end", "marker_start", "label_style", "label_bg_style"):
        assert len({id(getattr(e, attr)) for e in state.edges}) == len(state.edges)


def test_user_text_is_escaped_in_the_label(small: WorkflowSpec) -> None:
    state = update_node(spec_to_state(small), "ok", name="<b>*boss*</b>")
    content = node_at(state, "ok").data["content"]
    assert "<b>" not in content
    assert "\\*boss\\*" in content


def test_edges_carry_their_branch_in_label_and_id(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    by_id = {e.id: e for e in state.edges}
    edge = by_id[edge_id("big", "true", "ok")]
    assert edge.label == "true"
    assert edge.label_show_bg is True
    assert edge.type == "smoothstep"
    assert edge.marker_end == {"type": "arrowclosed"}
    assert by_id[edge_id("start", None, "big")].label == ""
    assert parse_edge_id(edge_id("big", "true", "ok")) == ("big", "true", "ok")
    assert parse_edge_id(edge_id("route", "a:b c", "x")) == ("route", "a:b c", "x")
    assert parse_edge_id(edge_id("start", None, "big")) == ("start", None, "big")
    assert parse_edge_id("st-flow-edge_a-b") is None


def test_problems_mark_their_nodes(small: WorkflowSpec) -> None:
    broken = small.model_copy(deep=True)
    broken.nodes[1].params = {"when": "item.amount >"}
    _, problems = check(broken)
    state = spec_to_state(broken, problems=problems)
    big = node_at(state, "big")
    mine = [p for p in problems if p.node == "big"]
    assert mine
    assert f"⚠ {len(mine)}" in big.data["content"]
    assert "dc2626" in big.style["border"]
    assert big.data[canvas.K_PROBLEMS][0]["message"] == mine[0].message
    clean = {n.id for n in broken.nodes} - {p.node for p in problems}
    assert clean
    for node_id in clean:
        assert "⚠" not in node_at(state, node_id).data["content"]
        assert "dc2626" not in node_at(state, node_id).style["border"]
    warned = spec_to_state(small, problems=[Problem(message="w", node="ok", severity="warning")])
    assert "dashed" in node_at(warned, "ok").style["border"]


def test_highlight_marks_the_path(small: WorkflowSpec) -> None:
    path = ["start", "big", "ok", "done"]
    state = spec_to_state(small, highlight=path)
    for node in state.nodes:
        assert ("boxShadow" in node.style) == (node.id in path)
        assert node.data[canvas.K_HIGHLIGHT] == (node.id in path)
    animated = {(e.source, e.target) for e in state.edges if e.animated}
    assert animated == {("start", "big"), ("big", "ok"), ("ok", "done")}
    green = [e for e in state.edges if e.style.get("stroke") == "#16a34a"]
    assert len(green) == 3


def test_node_icon_is_the_types_declared_icon() -> None:
    assert node_icon(None, "teleport") == "❔"
    assert node_icon(SimpleNamespace(icon="🦄", family="ai"), "x") == "🦄"
    assert node_icon(get_node_type("trigger"), "trigger") == "▶️"
    assert node_icon(get_node_type("end"), "end") == "🏁"
    assert node_icon(get_node_type("ai_classify"), "ai_classify") == "🤖"


def test_escape_markdown_makes_user_text_inert() -> None:
    assert escape_markdown("<i>a</i> & b") == "&lt;i&gt;a&lt;/i&gt; &amp; b"
    assert escape_markdown("*x* _y_ `z` [l](u) ~s~ |t|") == (
        "\\*x\\* \\_y\\_ \\`z\\` \\[l\\](u) \\~s\\~ \\|t\\|"
    )
    assert escape_markdown("two\nlines") == "two lines"


def test_a_logging_checkpoint_says_it_never_stops(small: WorkflowSpec) -> None:
    state, audit = add_node(spec_to_state(small), small, "audit")
    assert "🧾 logs, never stops" in node_at(state, audit).data["content"]
    assert "⏸" not in node_at(state, audit).data["content"]


def test_cards_are_deleted_through_python_only(small: WorkflowSpec) -> None:
    state = spec_to_state(small)
    assert all(n.deletable is False for n in state.nodes)
    assert edge_style(True) == {"stroke": "#16a34a", "strokeWidth": 3}
    assert edge_style(False) == {"strokeWidth": 1.5}
    assert edge_style(False) is not edge_style(False)


def test_mark_keeps_the_selection_when_told_nothing(small: WorkflowSpec) -> None:
    state = spec_to_state(small, selected="ok")
    mark(state, None, None, None)
    assert [n.id for n in state.nodes if n.selected] == ["ok"]
    mark(state, [Problem(message="p", node=None)], None, "big")
    assert [n.id for n in state.nodes if n.selected] == ["big"]
    assert all(n.data[canvas.K_PROBLEMS] == [] for n in state.nodes)


def test_cards_show_the_key_parameter_short() -> None:
    from builder.design.canvas.card import KEY_PARAM_CHARS, key_param, label

    data = {"lg_type": "approval", "lg_params": {"instructions": "x", "team": "finance"}}
    assert key_param(data) == ("team", "finance")
    assert "team: finance" in label(data, "manager")
    long = {"lg_type": "webhook", "lg_params": {"url": "https://example.test/" + "a" * 80}}
    name, value = key_param(long)
    assert name == "url" and len(value) == KEY_PARAM_CHARS and value.endswith("…")
    # no key parameter set: the first non-empty one; none at all: no line
    assert key_param({"lg_type": "approval", "lg_params": {"team": "", "priority": 2}}) == (
        "priority",
        "2",
    )
    assert key_param({"lg_type": "trigger", "lg_params": {}}) is None
