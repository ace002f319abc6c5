"""The Builder's right-hand column: the selected node's generated form or the edge's branch."""

from __future__ import annotations

from typing import Any

import streamlit as st

from builder.design import canvas, editor, forms
from builder.shell import resources
from runtime.nodes import get_node_type


def inspector(ed: editor.Editor) -> None:
    """The form for what is selected on the canvas: a node, an edge, or a hint."""
    node_ids = {n.id for n in ed.state.nodes}
    if ed.selected in node_ids:
        node_inspector(ed, ed.selected)
    elif ed.selected and any(e.id == ed.selected for e in ed.state.edges):
        edge_inspector(ed, ed.selected)
    else:
        st.caption("Select a node or an edge on the canvas to edit it.")


def _widget(spec: forms.FieldSpec, value: Any, key: str) -> Any:
    label = spec.label + (" *" if spec.required else "")
    if spec.kind == "select":
        options = list(spec.options or [])
        if spec.nullable and None not in options:
            options = [None, *options]
        index = options.index(value) if value in options else 0
        return st.selectbox(
            label,
            options,
            index=index,
            key=key,
            help=spec.help,
            format_func=lambda v: "(none)" if v is None else str(v),
        )
    if spec.kind == "bool":
        return st.checkbox(label, value=bool(value), key=key, help=spec.help)
    if spec.kind in ("number", "integer"):
        text = "" if value in (None, "") else str(value)
        return st.text_input(
            label,
            value=text,
            key=key,
            help=spec.help
            + (f" (from {spec.min})" if spec.min is not None else "")
            + (f" (up to {spec.max})" if spec.max is not None else ""),
        )
    if spec.kind in ("textarea", "list", "json"):
        hint = {"list": " One per line.", "json": " YAML or JSON."}.get(spec.kind, "")
        return st.text_area(label, value=value or "", key=key, help=spec.help + hint, height=90)
    return st.text_input(label, value=value or "", key=key, help=spec.help)


def node_inspector(ed: editor.Editor, node_id: str) -> None:
    """The selected node's form, generated from its params model; errors at the field."""
    node = next((n for n in ed.state.nodes if n.id == node_id), None)
    if node is None:
        return
    data = node.data
    ntype = get_node_type(data.get("lg_type", ""))
    st.markdown(f"**{data.get('lg_type')}** node `{node_id}`")
    if ntype is None:
        st.error(f"Unknown node type {data.get('lg_type')!r}; delete this node.")
    else:
        st.caption(ntype.description)
    errors: dict[str, str] = st.session_state.get(f"bld_err_{node_id}", {})
    with st.form(f"bld_form_{node_id}"):
        new_id = st.text_input(
            "Node id", value=node_id, help="Lower case, digits, _; templates use steps.<id>."
        )
        name = st.text_input("Display name", value=data.get("lg_name") or "")
        raw: dict[str, Any] = {}
        if ntype is not None:
            values = forms.initial_values(ntype.Params, data.get("lg_params") or {})
            for spec in forms.form_fields(ntype.Params):
                raw[spec.name] = _widget(
                    spec, values.get(spec.name), f"bld_w_{node_id}_{spec.name}"
                )
                if spec.name in errors:
                    st.error(errors[spec.name])
            if ntype.family == "action":
                sensitive = st.checkbox(
                    "Sensitive (needs a human checkpoint before it)",
                    value=bool(data.get("lg_sensitive")),
                )
            else:
                sensitive = False
        if forms.FORM_ERROR in errors:
            st.error(errors[forms.FORM_ERROR])
        applied = st.form_submit_button("Apply", type="primary")
    _chosen_threshold(ed, node_id, data)
    if applied and ntype is not None:
        params, errs = forms.coerce_form_values(ntype.Params, raw)
        st.session_state[f"bld_err_{node_id}"] = errs
        if errs:
            st.rerun()
        try:
            state = canvas.update_node(
                ed.state,
                node_id,
                new_id=new_id if new_id != node_id else None,
                params=params,
                sensitive=sensitive,
                name=name,
            )
        except ValueError as exc:
            st.session_state[f"bld_err_{node_id}"] = {forms.FORM_ERROR: str(exc)}
            st.rerun()
        ed.replace(state)
        ed.selected = new_id
        st.rerun()
    if st.button("Delete node", key=f"bld_del_{node_id}"):
        ed.replace(canvas.delete_node(ed.state, node_id))
        ed.selected = None
        st.rerun()


def _chosen_threshold(ed: editor.Editor, node_id: str, data: dict[str, Any]) -> None:
    """For a confidence gate with ``target_error``: the threshold it applies now and why."""
    params = data.get("lg_params") or {}
    if data.get("lg_type") != "confidence_gate" or params.get("target_error") in (None, ""):
        return
    from runtime.models.gate_threshold import preview

    of = next((n for n in ed.state.nodes if n.id == params.get("of")), None)
    checked = (
        None
        if of is None
        else {"type": of.data.get("lg_type"), **{"params": of.data.get("lg_params") or {}}}
    )
    registry = getattr(resources.engine().services, "models", None)
    try:
        target = float(params["target_error"])
    except (TypeError, ValueError):
        return
    with st.expander("Chosen threshold", expanded=True):
        st.caption(preview(registry, ed.base.id, node_id, target, checked))


def edge_inspector(ed: editor.Editor, edge_id: str) -> None:
    """Which branch an edge is; change it or delete the edge."""
    edge = next((e for e in ed.state.edges if e.id == edge_id), None)
    if edge is None:
        return
    branches = canvas.branches_for(ed.state, edge.source)
    st.markdown(f"**Edge** `{edge.source}` → `{edge.target}`")
    current = edge.label if edge.label in branches else None
    if branches:
        branch = st.selectbox(
            "Branch",
            branches,
            key=f"bld_eb_{edge_id}",
            index=branches.index(current) if current else 0,
        )
        if st.button("Set branch", key=f"bld_es_{edge_id}", type="primary"):
            state = canvas.delete_edge(ed.state, edge_id)
            ed.replace(canvas.connect(state, edge.source, edge.target, branch))
            ed.selected = None
            st.rerun()
    if st.button("Delete edge", key=f"bld_ed_{edge_id}"):
        ed.replace(canvas.delete_edge(ed.state, edge_id))
        ed.selected = None
        st.rerun()
