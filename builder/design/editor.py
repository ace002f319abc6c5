"""The Builder's editing session: the workflow being edited, its canvas state, selection,
problems and test run. Kept in ``st.session_state["bld"]``; only this module writes it."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit_flow.state import StreamlitFlowState

from builder.design import canvas
from builder.design.sandbox import Sandbox
from builder.shell import resources
from builder.shell.session import current_user
from runtime import (
    LoopgateError,
    Problem,
    SpecError,
    WorkflowSpec,
    check,
    loads_yaml,
    parse_spec,
    queries,
)
from runtime.workflow_diff import diff_workflows

_KEY = "bld"
UNDO_LIMIT = 50  # canvas states kept for Undo (and for Redo)
RESENDS = 3  # re-stamped states sent again in a row before giving up until the next change


@dataclass
class Editor:
    """One session's editing state.

    Attributes:
        base: the workflow being edited (its workflow-level fields; nodes come from the canvas).
        state: the canvas state, the one object handed to the component on every rerun.
        version: the saved version the canvas started from, or None when not saved.
        status: that version's status (``published`` or ``draft``).
        selected: the selected node or edge id (the component forgets it, this does not).
        path: node ids of the last test run's path, highlighted on the canvas.
        test_run: the last test run's result.
        sandbox: the private engine test runs use, made on the first test run.
        flash: ``(kind, message)`` shown after a rerun (kind is an ``st`` method) until the
            workflow on the canvas changes or another message replaces it.
        flash_on: the canvas's digest when the flash was first shown.
        browser_ts: the timestamp of the last value the canvas sent.
        seen_edges: edge ids this session has had (so a stale echo does not bring one back).
        resends: states re-stamped in a row because the browser showed an older one.
        undo_stack: canvas states before this session's edits, newest last (at most
            ``UNDO_LIMIT``); ``redo_stack``: states undone, newest last; a new edit clears it.
    """

    base: WorkflowSpec
    state: StreamlitFlowState
    version: int | None = None
    status: str | None = None
    selected: str | None = None
    path: list[str] = field(default_factory=list)
    test_run: Any = None
    sandbox: Sandbox | None = None
    flash: tuple[str, str] | None = None
    flash_on: str | None = None
    browser_ts: int | None = None
    seen_edges: set[str] = field(default_factory=set)
    undo_stack: list[StreamlitFlowState] = field(default_factory=list)
    redo_stack: list[StreamlitFlowState] = field(default_factory=list)
    resends: int = 0

    # ------------------------------------------------------------ derived

    def spec(self) -> tuple[WorkflowSpec | None, list[Problem]]:
        """The workflow on the canvas and every problem with it."""
        try:
            spec = canvas.state_to_spec(self.state, self.base)
        except SpecError as exc:
            return None, exc.problems
        _, problems = check(spec)
        return spec, problems

    def accept(self, returned: StreamlitFlowState) -> bool:
        """Merge what the canvas sent: positions, the selection and edges drawn in the browser.

        This session is the authority on nodes, their data and labelled edges. The canvas
        echoes every state it accepts, and an echo can arrive after a newer change made here;
        taking it whole would undo that change, so only what the browser owns is merged.
        When the browser shows something else (other nodes, cards or branches), the state is
        re-stamped so it reloads it: the browser ignores a state older than the last one it
        took, and a change made here while it was taking an earlier one can be just that.

        Returns:
            Whether the state was re-stamped and must be sent again (a rerun does it); at
            most ``RESENDS`` times in a row, so a browser that never agrees cannot loop.
        """
        if returned is self.state or returned.timestamp == self.browser_ts:
            return False
        self.browser_ts = returned.timestamp
        ours = {n.id: n for n in self.state.nodes}
        moved = [
            n
            for n in returned.nodes
            if n.id in ours and n.position and _xy(n.position) != _xy(ours[n.id].position)
        ]
        known = {e.id for e in self.state.edges} | self.seen_edges
        drawn = [
            e for e in returned.edges if e.id not in known and e.source in ours and e.target in ours
        ]
        if moved or drawn:  # a drag or a connection in the browser: Undo takes it back
            self._remember()
        for node in moved:
            ours[node.id].position = dict(node.position)
        self.state.edges.extend(copy.deepcopy(e) for e in drawn)
        self.seen_edges |= {e.id for e in self.state.edges}
        if returned.selected_id:
            self.selected = returned.selected_id
        if _shape(returned) == _shape(self.state) or self.resends >= RESENDS:
            self.resends = 0
            return False
        self.state.timestamp = max(int(time.time() * 1000), int(self.state.timestamp) + 1)
        self.resends += 1
        return True

    def replace(self, state: StreamlitFlowState, *, keep_path: bool = False) -> None:
        """Show a new canvas state (an edit made here).

        Args:
            state: the new state, newer than the current one.
            keep_path: keep the test run's path highlighted (for edits that move nodes only).
        """
        self.seen_edges |= {e.id for e in self.state.edges}
        if state is not self.state:
            self._remember()
        self.state = state
        if not keep_path:
            self.path = []

    def _remember(self) -> None:
        """Keep the canvas as it is now for Undo (a new edit follows); Redo starts over."""
        self.undo_stack.append(canvas.copy_state(self.state))
        del self.undo_stack[:-UNDO_LIMIT]
        self.redo_stack.clear()

    def undo(self) -> bool:
        """Take back the last canvas edit (added, deleted, moved, connected, changed).

        Returns:
            Whether there was an edit to take back.
        """
        return self._step(self.undo_stack, self.redo_stack)

    def redo(self) -> bool:
        """Make the last undone edit again.

        Returns:
            Whether there was an undone edit to make again.
        """
        return self._step(self.redo_stack, self.undo_stack)

    def _step(self, source: list[StreamlitFlowState], other: list[StreamlitFlowState]) -> bool:
        if not source:
            return False
        other.append(canvas.copy_state(self.state))
        del other[:-UNDO_LIMIT]
        state = source.pop()
        state.timestamp = canvas.newer(self.state.timestamp)  # the browser takes newer only
        self.seen_edges |= {e.id for e in self.state.edges}
        self.state, self.path = state, []
        if self.selected and not any(x.id == self.selected for x in [*state.nodes, *state.edges]):
            self.selected = None
        return True

    def say(self, kind: str, message: str) -> None:
        """Show ``message`` with ``st.<kind>`` (e.g. ``error``) from the next rerun until
        the workflow on the canvas changes (the next edit) or another message comes."""
        self.flash, self.flash_on = (kind, message), None

    def flash_now(self, digest: str | None) -> tuple[str, str] | None:
        """The message to show with the canvas at ``digest``, or None once it changed."""
        if self.flash is None:
            return None
        if self.flash_on is None:
            self.flash_on = digest
        elif self.flash_on != digest:
            self.flash = self.flash_on = None
        return self.flash


def _xy(position: dict[str, Any] | None) -> tuple[float, float]:
    position = position or {}
    return round(float(position.get("x", 0)), 1), round(float(position.get("y", 0)), 1)


def _shape(state: StreamlitFlowState) -> tuple:
    """What the browser must show as this session has it: node ids and cards, edge branches.

    The cards count too: a state made while the browser was taking an older one can carry
    an older timestamp than the one the browser then stamps, and would be ignored."""
    return (
        sorted((n.id, str((n.data or {}).get(canvas.CONTENT, ""))) for n in state.nodes),
        sorted((e.id, e.label or "") for e in state.edges),
    )


def blank_spec() -> WorkflowSpec:
    """A new workflow: a trigger leading straight to an end."""
    return parse_spec(
        {
            "id": "new-workflow",
            "name": "New workflow",
            "nodes": [{"id": "start", "type": "trigger"}, {"id": "done", "type": "end"}],
            "edges": [{"from": "start", "to": "done"}],
        }
    )


def editor() -> Editor:
    """This session's editor, created on first use.

    It opens what Home asked for, else the workflow in the URL, else the first saved
    workflow, else a blank one; the URL then names the open workflow.

    Returns:
        The editor kept in session state.
    """
    ed: Editor | None = st.session_state.get(_KEY)
    wanted = st.session_state.pop("builder_open", None)
    if ed is None and not wanted:
        wanted = st.query_params.get("workflow")  # a reload or a shared link
    if ed is None or wanted:
        try:
            ed = _open(wanted) if wanted else _open_first()
        except LoopgateError:
            ed = _open_first()
        st.session_state[_KEY] = ed
    if ed.version is not None:
        st.query_params["workflow"] = ed.base.id
    return ed


def _open_first() -> Editor:
    workflows = queries.catalog.list_workflows(resources.engine().store, current_user())
    return (
        _open(workflows[0]["id"])
        if workflows
        else Editor(blank_spec(), canvas.spec_to_state(blank_spec()))
    )


def _open(workflow_id: str, version: int | None = None) -> Editor:
    row = queries.catalog.get_workflow(
        resources.engine().store, current_user(), workflow_id, version
    )
    spec = parse_spec(row["spec"])
    prev = st.session_state.get(_KEY)
    state = canvas.spec_to_state(spec, previous=prev.state if prev else None)
    return Editor(spec, state, version=row["version"], status=row["status"])


def load(workflow_id: str, version: int | None = None) -> None:
    """Open a saved workflow (its newest version by default); a failure is flashed.

    Args:
        workflow_id: the workflow to open.
        version: the version to open, or None for the newest.
    """
    try:
        st.session_state[_KEY] = _open(workflow_id, version)
    except LoopgateError as exc:
        editor().say("error", str(exc))


def new_workflow(workflow_id: str, name: str) -> str | None:
    """Start a new, unsaved workflow on the canvas.

    Args:
        workflow_id: its id.
        name: its display name (the id when empty).

    Returns:
        An error message (a bad id, or one a stored workflow has), or None.
    """
    if queries.catalog.workflow_versions(resources.engine().store, current_user(), workflow_id):
        return (
            f"A workflow with the id {workflow_id} exists already: open it from the list "
            "above, or pick another id (nothing was created)."
        )
    try:
        spec = blank_spec().model_copy(update={"id": workflow_id, "name": name or workflow_id})
        spec = parse_spec(spec.to_dict())
    except SpecError as exc:
        return "; ".join(str(p) for p in exc.problems)
    st.session_state[_KEY] = Editor(spec, canvas.spec_to_state(spec, previous=editor().state))
    return None


def import_yaml(text: str) -> list[str]:
    """Load uploaded YAML into the canvas (not saved yet).

    Args:
        text: the file's text.

    Returns:
        Problems that block it (the file does not parse); [] when it was loaded, with or
        without compiler errors (those are flashed).
    """
    try:
        spec = loads_yaml(text)
    except SpecError as exc:
        return [str(p) for p in exc.problems]
    ed = editor()
    new = Editor(spec, canvas.spec_to_state(spec, previous=ed.state))
    st.session_state[_KEY] = new
    _, problems = check(spec)  # the file as written: problems the canvas could not even show
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        listing = "\n".join(f"- {p}" for p in problems)
        new.say(
            "warning",
            f"Imported {spec.id} with {len(errors)} error(s); nothing is saved "
            f"until you fix them and save a version:\n{listing}",
        )
    else:
        new.say("info", f"Imported {spec.id}; it is not saved until you save a version.")
    return []


def save_version(message: str, user: str) -> None:
    """Save the canvas as a new version: published when valid, else a draft.

    The outcome is flashed.

    Args:
        message: what changed (may be empty).
        user: who saves it.
    """
    ed = editor()
    spec, problems = ed.spec()
    if spec is None:
        ed.say("error", "Cannot save: " + "; ".join(str(p) for p in problems))
        return
    errors = [p for p in problems if p.severity == "error"]
    engine = resources.engine()
    previous = _newest(spec.id)
    if previous and not errors and ed.status != "draft":
        diff = diff_workflows(previous[1], spec)
        if diff.same_behaviour:
            ed.say("info", unchanged_message(spec.id, previous[0], diff.moved))
            return
    try:
        saved = engine.save_workflow(spec, by=user, message=message or None, draft=bool(errors))
    except LoopgateError as exc:
        ed.say("error", str(exc))
        return
    version = saved if isinstance(saved, int) else saved.version
    ed.base, ed.version = spec, version
    ed.status = "draft" if errors else "published"
    ed.say(*saved_message(spec, previous, version, len(errors)))


def _newest(workflow_id: str) -> tuple[int, WorkflowSpec] | None:
    """The newest stored version of a workflow and its spec, or None."""
    store, user = resources.engine().store, current_user()
    rows = queries.catalog.workflow_versions(store, user, workflow_id)
    if not rows:
        return None
    row = queries.catalog.get_workflow(store, user, workflow_id, rows[0]["version"])
    return rows[0]["version"], WorkflowSpec.model_validate(row["spec"])


def unchanged_message(workflow_id: str, version: int, moved: list[str]) -> str:
    """Why a save made no version: nothing changed, or only node positions did."""
    if moved:
        return (
            f"Nothing to save: only node positions differ from {workflow_id} v{version}, and "
            "positions do not change how it runs. They are saved with your next change."
        )
    return f"Nothing to save: the canvas is {workflow_id} v{version} as stored."


def saved_message(
    spec: WorkflowSpec, previous: tuple[int, WorkflowSpec] | None, version: int, errors: int
) -> tuple[str, str]:
    """What a save did, as ``(kind, message)``: the new version and what changed in it,
    that nothing was saved because nothing changed, or that only the layout changed."""
    if errors:
        return "warning", f"Saved as draft v{version}: fix {errors} problem(s) to publish it."
    if previous is None:
        return "success", f"Saved {spec.id} v{version}, its first version."
    before, old = previous
    diff = diff_workflows(old, spec)
    if version == before:
        return "info", unchanged_message(spec.id, version, diff.moved)
    return "success", f"Saved {spec.id} v{version}: {diff.summary()} since v{before}."
