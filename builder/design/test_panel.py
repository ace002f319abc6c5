"""The Builder's test run: an item form from the input schema, the path on the canvas, and
the review a reviewer would see, decided right here to follow the run to its end."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from builder.design import editor, test_outcome
from builder.design.sandbox import Sandbox
from runtime import LoopgateError, Problem, WorkflowSpec
from runtime.nodes import get_node_type
from runtime.nodes.base import Decision
from runtime.workflow_diff import diff_workflows


def _item_form(spec: WorkflowSpec) -> dict[str, Any] | None:
    with st.form("bld_test_item"):
        st.markdown("**Test item**")
        item: dict[str, Any] = {}
        for name, field in spec.input.items():
            label = name + (" *" if field.required else "")
            key = f"bld_ti_{spec.id}_{name}"
            if field.enum:
                item[name] = st.selectbox(label, field.enum, key=key, help=field.description)
            elif field.type == "boolean":
                item[name] = st.checkbox(label, key=key, help=field.description)
            elif field.type in ("object", "array"):
                item[name] = st.text_area(label, key=key, help=field.description + " (JSON)")
            else:
                item[name] = st.text_input(label, key=key, help=field.description)
        if not spec.input:
            raw = st.text_area("Item (JSON)", value="{}", key=f"bld_ti_{spec.id}__json")
        go = st.form_submit_button("Run test", type="primary")
    if not go:
        return None
    if not spec.input:
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            st.error(f"The item is not valid JSON: {exc.msg}")
            return None
    out: dict[str, Any] = {}
    for name, value in item.items():
        if spec.input[name].type in ("object", "array") and value:
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                st.error(f"{name}: not valid JSON ({exc.msg})")
                return None
        out[name] = None if value == "" else value
    return out


def _review_card(ed: editor.Editor, sandbox: Sandbox, review_id: str) -> None:
    review = sandbox.review(review_id)
    with st.container(border=True):
        st.markdown(
            f"**Waiting at `{review['node_id']}`** ({review['kind']}, team "
            f"{review['team'] or '-'}, priority {review['priority']}): what the reviewer sees"
        )
        if test_outcome.clean_text(review["instructions"]):
            st.markdown(test_outcome.clean_text(review["instructions"]))
        if test_outcome.clean_text(review["note"]):
            st.info(test_outcome.clean_text(review["note"]))
        if review["display"]:
            st.json(review["display"], expanded=False)
        data: dict[str, Any] = {}
        for f in review["form"] or []:
            key = f"bld_rf_{review_id}_{f['name']}"
            if f["type"] == "select":
                data[f["name"]] = st.selectbox(f.get("label") or f["name"], f["options"], key=key)
            elif f["type"] == "boolean":
                data[f["name"]] = st.checkbox(
                    f.get("label") or f["name"], value=bool(f.get("value")), key=key
                )
            else:
                data[f["name"]] = st.text_input(
                    f.get("label") or f["name"],
                    value="" if f.get("value") is None else str(f["value"]),
                    key=key,
                )
        actions = [a for a in review["actions"] if a != "escalate"]
        reason = None
        if "reject" in actions and review["reason_codes"]:
            reason = st.selectbox(
                "Reason (reject)", review["reason_codes"], key=f"bld_rr_{review_id}"
            )
        rating = note = None
        if asks_for_rating(review):
            rating = st.slider("Rating", 1, 5, 4, key=f"bld_rt_{review_id}")
            note = st.text_input("Correction (revise)", key=f"bld_rn_{review_id}") or None
        picks: list[str] = []
        if "choose" in actions and review.get("options"):
            # a choice: one button per option, or pick several then one Choose button
            actions.remove("choose")
            if _picks_several(ed, review["node_id"]):
                picks = st.multiselect("Options", review["options"], key=f"bld_ro_{review_id}")
                actions.append("choose")
            else:
                cols = st.columns(len(review["options"]))
                for col, option in zip(cols, review["options"], strict=True):
                    if col.button(option, key=f"bld_ro_{review_id}_{option}"):
                        _decide(ed, sandbox, review_id, "choose", data, option=option)
        cols = st.columns(len(actions)) if actions else []
        for col, action in zip(cols, actions, strict=True):
            if action == "choose":
                if col.button("Choose", key=f"bld_ra_{review_id}_choose"):
                    _decide(ed, sandbox, review_id, "choose", data, option=picks)
                continue
            if col.button(action.title(), key=f"bld_ra_{review_id}_{action}"):
                payload = (
                    {k: _typed(v) for k, v in data.items()} if action in ("edit", "submit") else {}
                )
                if action == "edit":
                    originals = {f["name"]: f.get("value") for f in review["form"] or []}
                    payload = {k: v for k, v in payload.items() if v != originals.get(k)}
                decision = Decision(
                    action=action,
                    data=payload,
                    reason=reason if action == "reject" else None,  # approvals carry none
                    note=note,
                    rating=rating,
                )
                _apply(ed, sandbox, review_id, decision)


def _picks_several(ed: editor.Editor, node_id: str) -> bool:
    """Whether the choice node on the canvas lets a person pick several options."""
    spec, _ = ed.spec()
    node = next((n for n in spec.nodes if n.id == node_id), None) if spec else None
    return bool(node and (node.params or {}).get("multiple"))


def _decide(
    ed: editor.Editor,
    sandbox: Sandbox,
    review_id: str,
    action: str,
    data: dict[str, Any],
    *,
    option: str | list[str],
) -> None:
    """A ``choose`` decision with the extra form's filled fields."""
    filled = {k: _typed(v) for k, v in data.items() if v not in ("", None)}
    _apply(ed, sandbox, review_id, Decision(action=action, data=filled, option=option))


def _apply(ed: editor.Editor, sandbox: Sandbox, review_id: str, decision: Decision) -> None:
    """Decide in the sandbox; keep the run and its path, or say why it was refused."""
    try:
        res = sandbox.decide(review_id, decision)
    except LoopgateError as exc:
        ed.say("error", str(exc))
    else:
        ed.test_run, ed.path = res, sandbox.path(res.run_id)
    st.rerun()


def canvas_version(ed: editor.Editor, spec: WorkflowSpec) -> str:
    """Which version the canvas holds: a saved one as it is, or unsaved changes on one."""
    if ed.version is None:
        return "not saved yet"
    saved = f"v{ed.version}" + (" (draft)" if ed.status == "draft" else "")
    if diff_workflows(ed.base, spec).same_behaviour:  # positions do not change a run
        return f"{saved}, as saved"
    return f"unsaved changes on top of {saved}"


def asks_for_rating(review: dict[str, Any]) -> bool:
    """Whether the reviewer rates the output and may write a correction (the node type
    says so: feedback reviews)."""
    ntype = get_node_type(review["kind"])
    return ntype is not None and ntype.rates


def _typed(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (json.JSONDecodeError, ValueError):
            return value
    return value


def test_run_panel(ed: editor.Editor, spec: WorkflowSpec | None, problems: list[Problem]) -> None:
    """The "Test run" tab: an item form, then the run's outcome, path, review and steps.

    Args:
        ed: this session's editor; the run and its path are kept on it.
        spec: the workflow on the canvas, or None when it does not parse.
        problems: its problems; any error means it cannot run.
    """
    if spec is None or any(p.severity == "error" for p in problems):
        st.info("Fix the errors listed under Problems to test-run this workflow.")
        return
    st.caption(f"Test runs use the workflow as it is on the canvas: {canvas_version(ed, spec)}.")
    item = _item_form(spec)
    if item is not None:
        ed.sandbox = ed.sandbox or Sandbox()
        try:
            res = ed.sandbox.start(spec, item)
        except LoopgateError as exc:
            st.error(str(exc))
            return
        ed.test_run, ed.path = res, ed.sandbox.path(res.run_id)
        st.rerun()
    res = ed.test_run
    if res is None or ed.sandbox is None:
        st.caption("Runs here use a private in-memory database: nothing real is written.")
        return
    kind, text = test_outcome.outcome(
        res.status, res.result, res.error, ed.sandbox.store.run_events(res.run_id)
    )
    getattr(st, kind)(f"{text} · path: {' → '.join(ed.path)}")
    if res.status == "waiting" and res.review_id:
        _review_card(ed, ed.sandbox, res.review_id)
    with st.expander("Steps and outputs", expanded=res.status != "waiting"):
        st.dataframe(
            [
                {**r, "output": json.dumps(r["output"], default=str)}
                for r in ed.sandbox.steps(res.run_id)
            ],
            hide_index=True,
            width="stretch",
        )
