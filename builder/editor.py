"""The Builder's editing session: the workflow being edited, its canvas state, selection,
problems and test run. Kept in ``st.session_state["bld"]``; only this module writes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit_flow.state import StreamlitFlowState

from builder import canvas, resources
from builder.sandbox import Sandbox
from runtime import LoopgateError, Problem, SpecError, WorkflowSpec, check, loads_yaml, parse_spec

_KEY = "bld"


@dataclass
class Editor:
    base: WorkflowSpec
    state: StreamlitFlowState
    version: int | None = None
    status: str | None = None
    selected: str | None = None
    path: list[str] = field(default_factory=list)
    test_run: Any = None
    sandbox: Sandbox | None = None
    flash: tuple[str, str] | None = None  # (kind, message) shown once after a rerun

    # ------------------------------------------------------------ derived

    def spec(self) -> tuple[WorkflowSpec | None, list[Problem]]:
        """The workflow on the canvas and every problem with it."""
        try:
            spec = canvas.state_to_spec(self.state, self.base)
        except SpecError as exc:
            return None, exc.problems
        _, problems = check(spec)
        return spec, problems

    def replace(self, state: StreamlitFlowState, *, keep_path: bool = False) -> None:
        self.state = state
        if not keep_path:
            self.path = []

    def say(self, kind: str, message: str) -> None:
        self.flash = (kind, message)


def blank_spec() -> WorkflowSpec:
    return parse_spec({
        "id": "new-workflow", "name": "New workflow",
        "nodes": [{"id": "start", "type": "trigger"}, {"id": "done", "type": "end"}],
        "edges": [{"from": "start", "to": "done"}],
    })


def editor() -> Editor:
    """This session's editor, created on first use (opening what Home asked for, if any)."""
    ed: Editor | None = st.session_state.get(_KEY)
    wanted = st.session_state.pop("builder_open", None)
    if ed is None or wanted:
        ed = _open(wanted) if wanted else _open_first()
        st.session_state[_KEY] = ed
    return ed


def _open_first() -> Editor:
    workflows = resources.engine().store.list_workflows()
    return _open(workflows[0]["id"]) if workflows else Editor(blank_spec(), canvas.spec_to_state(blank_spec()))


def _open(workflow_id: str, version: int | None = None) -> Editor:
    row = resources.engine().store.get_workflow(workflow_id, version)
    spec = parse_spec(row["spec"])
    prev = st.session_state.get(_KEY)
    state = canvas.spec_to_state(spec, previous=prev.state if prev else None)
    return Editor(spec, state, version=row["version"], status=row["status"])


def load(workflow_id: str, version: int | None = None) -> None:
    try:
        st.session_state[_KEY] = _open(workflow_id, version)
    except LoopgateError as exc:
        editor().say("error", str(exc))


def new_workflow(workflow_id: str, name: str) -> str | None:
    """Start a new workflow; returns an error message or None."""
    try:
        spec = blank_spec().model_copy(update={"id": workflow_id, "name": name or workflow_id})
        spec = parse_spec(spec.to_dict())
    except SpecError as exc:
        return "; ".join(str(p) for p in exc.problems)
    st.session_state[_KEY] = Editor(spec, canvas.spec_to_state(spec, previous=editor().state))
    return None


def import_yaml(text: str) -> list[str]:
    """Load uploaded YAML into the canvas (not saved yet); returns problems that block it."""
    try:
        spec = loads_yaml(text)
    except SpecError as exc:
        return [str(p) for p in exc.problems]
    ed = editor()
    st.session_state[_KEY] = Editor(spec, canvas.spec_to_state(spec, previous=ed.state))
    st.session_state[_KEY].say("info", f"Imported {spec.id}; it is not saved until you save a version.")
    return []


def save_version(message: str, user: str) -> None:
    """Save the canvas as a new version: published when valid, else a draft."""
    ed = editor()
    spec, problems = ed.spec()
    if spec is None:
        ed.say("error", "Cannot save: " + "; ".join(str(p) for p in problems))
        return
    errors = [p for p in problems if p.severity == "error"]
    engine = resources.engine()
    try:
        saved = engine.save_workflow(spec, by=user, message=message or None, draft=bool(errors))
    except LoopgateError as exc:
        ed.say("error", str(exc))
        return
    version = saved if isinstance(saved, int) else saved.version
    ed.base, ed.version = spec, version
    ed.status = "draft" if errors else "published"
    if errors:
        ed.say("warning", f"Saved as draft v{version}: fix {len(errors)} problem(s) to publish it.")
    else:
        ed.say("success", f"Saved {spec.id} v{version}.")
