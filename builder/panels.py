"""The Builder's panels: palette, node and edge inspectors, connect bar, problems, versions."""

from __future__ import annotations

from typing import Any

import streamlit as st

from builder import canvas, editor, forms, resources
from runtime import Problem
from runtime.nodes import get_node_type

FAMILY_TITLES = {
    "flow": "Flow",
    "ai": "AI",
    "checkpoint": "Checkpoints (human in the loop)",
    "action": "Actions",
}


def palette(ed: editor.Editor) -> None:
    """Every registered node type by family; a click adds one to the canvas."""
    st.markdown("**Palette**")
    for family, types in canvas.palette().items():
        with st.expander(
            FAMILY_TITLES.get(family, family.title()), expanded=family == "checkpoint"
        ):
            for type_name, title, description in types:
                if st.button(title, key=f"pal_{type_name}", help=description, width="stretch"):
                    state, node_id = canvas.add_node(
                        ed.state, ed.base, type_name, after=ed.selected
                    )
                    ed.replace(state)
                    ed.selected = node_id
                    st.rerun()


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


def unlabelled_edges(ed: editor.Editor) -> None:
    """Edges drawn in the browser carry no branch yet: ask which one each is."""
    for edge_id in canvas.new_edges_without_branch(ed.state):
        edge = next(e for e in ed.state.edges if e.id == edge_id)
        branches = canvas.branches_for(ed.state, edge.source)
        with st.container(border=True):
            st.warning(
                f"New connection {edge.source} → {edge.target}: which branch of "
                f"{edge.source} is it?"
            )
            cols = st.columns([3, 1, 1])
            branch = cols[0].selectbox(
                "Branch", branches, key=f"bld_nb_{edge_id}", label_visibility="collapsed"
            )
            if cols[1].button("Set", key=f"bld_ns_{edge_id}", type="primary"):
                state = canvas.delete_edge(ed.state, edge_id)
                ed.replace(canvas.connect(state, edge.source, edge.target, branch))
                st.rerun()
            if cols[2].button("Remove", key=f"bld_nr_{edge_id}"):
                ed.replace(canvas.delete_edge(ed.state, edge_id))
                st.rerun()


def connect_bar(ed: editor.Editor) -> None:
    """Connect a node's branch to another node (the browser allows one edge per pair)."""
    ids = [n.id for n in ed.state.nodes]
    cols = st.columns([3, 2, 3, 2])
    source = cols[0].selectbox("From", ids, key=f"bld_c_from_{ed.base.id}")
    branches = canvas.branches_for(ed.state, source) if source else []
    branch = cols[1].selectbox(
        "Branch", branches or ["(none)"], key=f"bld_c_branch_{ed.base.id}_{source}"
    )
    target = cols[2].selectbox("To", ids, key=f"bld_c_to_{ed.base.id}")
    cols[3].markdown("&nbsp;")
    if cols[3].button("Connect", key="bld_c_go", disabled=not branches):
        try:
            ed.replace(canvas.connect(ed.state, source, target, branch))
        except ValueError as exc:
            ed.say("error", str(exc))
        st.rerun()


def problems_panel(problems: list[Problem]) -> None:
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    if not problems:
        st.success("No problems: this workflow can be published and run.")
        return
    st.markdown(f"**Problems** ({len(errors)} error(s), {len(warnings)} warning(s))")
    for p in errors:
        st.error(str(p), icon=":material/error:")
    for p in warnings:
        st.warning(str(p), icon=":material/warning:")


def versions_panel(ed: editor.Editor) -> None:
    store = resources.engine().store
    rows = store.list_workflow_versions(ed.base.id)
    if not rows:
        st.caption("Not saved yet.")
        return
    st.table(
        [
            {
                "version": r["version"],
                "status": r["status"],
                "by": r["created_by"] or "-",
                "when": r["created_at"].strftime("%Y-%m-%d %H:%M"),
                "message": r["message"] or "",
            }
            for r in rows
        ],
    )
    pick = st.selectbox(
        "Open version", [r["version"] for r in rows], key=f"bld_v_pick_{ed.base.id}"
    )
    if st.button("Open this version", key="bld_v_open"):
        editor.load(ed.base.id, pick)
        st.rerun()
