"""The Runs page's fork panel: start a new run from this run's data at a checkpoint it
stopped at, with another decision there (``Engine.fork``, which checks the forker, the
decision and the checkpoint like any decision); and the links between forked runs.

The decision inputs are the Review page's (:mod:`builder.review.decide`): the actions the
checkpoint offers, a reason to reject, an option to choose, the fields to edit or fill, a
team to escalate to, and a note.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from builder.ops.common import remember, show_outcome
from builder.review import decide, form
from builder.shell import resources
from builder.shell.session import has_role
from runtime.access import User
from runtime.errors import LoopgateError
from runtime.queries import forks
from runtime.queries.reviews import escalation_teams

FORK_ROLES = ("designer", "operator")
"""Roles that may fork (admins too); the forker must also be allowed to decide there."""
TYPED = "runs_typed"
"""The Runs page's run id input: setting it opens a run."""
_MSG = "runs_fork_msg"
_NEW = "runs_fork_new"
_FROM = "runs_fork_from"  # the run the last fork's message is about


def open_run(run_id: str) -> None:
    """Open a run on the Runs page (a button's callback); the last fork's message goes."""
    st.session_state[TYPED] = run_id
    for key in (_MSG, _NEW, _FROM):
        st.session_state.pop(key, None)


def _open_button(run_id: str, label: str, key: str) -> None:
    st.button(label, key=key, on_click=open_run, args=(run_id,), icon=":material/open_in_new:")


def links(user: User, run_id: str) -> None:
    """ "Forked from RUN at NODE" and "Forks: ..." with a button to open each."""
    try:
        got = forks.fork_links(resources.engine().store, user, run_id)
    except LoopgateError:
        return
    if got.origin:
        o = got.origin
        was = (o["original"] or {}).get("action") or (o["original"] or {}).get("status")
        st.info(
            f"Forked from {o['forked_from']} at {o['node_id']} by {o['forked_by']} "
            f"({o['forked_at']:%Y-%m-%d %H:%M} UTC): {o['decision']['action']} there"
            + (f" instead of {was}." if was else " while the original still waited.")
        )
        _open_button(o["forked_from"], f"Open {o['forked_from']}", f"fork_from_{run_id}")
    if got.forks:
        shown = got.forks[-5:]
        more = f" ({len(got.forks) - 5} earlier not shown)" if len(got.forks) > 5 else ""
        st.caption(
            f"Forks{more}: "
            + ", ".join(f"{f['run_id']} at {f['node_id']} by {f['forked_by']}" for f in shown)
        )
        for col, f in zip(st.columns(len(shown)), shown, strict=True):
            with col:
                _open_button(f["run_id"], f"Open {f['run_id']}", f"fork_to_{f['run_id']}")


def _label(p: forks.ForkPoint) -> str:
    done = f": {p.action} by {p.decided_by}" if p.action else ""
    return f"{p.node_id} ({p.kind}, {p.status}{done}, {p.created_at:%Y-%m-%d %H:%M})"


def panel(user: User, run_id: str) -> None:
    """The "Fork from a checkpoint" panel of a run's detail."""
    if st.session_state.get(_FROM) != run_id:  # another run opened: the message is not its
        for key in (_MSG, _NEW, _FROM):
            st.session_state.pop(key, None)
    with st.expander("Fork from a checkpoint", expanded=bool(st.session_state.get(_MSG))):
        st.caption(
            "Start a new run from this run's data at a checkpoint it stopped at, with another "
            "decision there. This run is not changed; what the workflow does after the "
            "checkpoint (messages, webhooks, record writes) happens again in the new run only."
        )
        show_outcome(_MSG)
        new = st.session_state.get(_NEW)
        if new:
            _open_button(new, f"Open the new run {new}", f"fork_open_{new}")
        if not has_role(user, *FORK_ROLES):
            st.caption("Forking needs the designer, operator or admin role.")
            return
        _inputs(user, run_id)


def _inputs(user: User, run_id: str) -> None:
    store = resources.engine().store
    try:
        points = forks.fork_points(store, user, run_id)
    except LoopgateError as exc:
        st.error(str(exc))
        return
    usable = [p for p in points if p.forkable]
    if not usable:
        st.caption(
            "This run stopped at no checkpoint: nothing to fork from."
            if not points
            else f"No checkpoint to fork from: {points[-1].why}."
        )
        return
    labels = {p.review_id: _label(p) for p in usable}
    rid = st.selectbox(
        "Checkpoint",
        list(labels),
        index=len(labels) - 1,
        format_func=labels.get,
        key=f"fork_at_{run_id}",
    )
    review = forks.fork_review(store, user, run_id, rid)
    actions = decide.offered(review)
    action = st.selectbox(
        "Decision",
        actions,
        format_func=lambda a: decide.LABELS.get(a, a),
        key=f"fork_action_{rid}",
    )
    key = f"fork_{rid}"
    if action in decide.FORM_ACTIONS and review.get("form"):
        form.inputs(review, key)
    if action == "choose":
        pick = st.multiselect if decide.picks_several(review) else st.selectbox
        pick("Option", review.get("options") or [], key=f"{key}_option")
    if action == "reject" and review.get("reason_codes"):
        st.selectbox(
            "Reason",
            review["reason_codes"],
            index=None,
            placeholder="Pick a reason",
            key=f"{key}_reason",
        )
    if action == "escalate":
        teams = [t for t in escalation_teams(store) if t != review["team"]]
        st.selectbox("Team", teams, index=None, placeholder="Pick a team", key=f"{key}_team")
    if decide.rates(review):
        st.slider("Rating", 1, 5, 4, key=f"{key}_rating")
    st.text_area(
        "Note", key=f"{key}_note", max_chars=5_000, placeholder="Why (kept in the audit trail)"
    )
    st.button(
        "Fork",
        key=f"{key}_go",
        type="primary",
        on_click=_fork,
        args=(user, run_id, rid, action, key),
    )


def _fork(user: User, run_id: str, review_id: str, action: str, key: str) -> None:
    """Build the decision from the panel's widgets and fork (the button's callback)."""
    engine = resources.engine()
    state = st.session_state
    st.session_state.pop(_NEW, None)
    try:
        review = forks.fork_review(engine.store, user, run_id, review_id)
        raw = {f["name"]: state.get(f"{key}_{f['name']}") for f in review.get("form") or []}
        inputs = decide.Inputs(
            reason=state.get(f"{key}_reason"),
            note=state.get(f"{key}_note"),
            team=state.get(f"{key}_team"),
            rating=state.get(f"{key}_rating"),
            option=state.get(f"{key}_option") or None,
        )
        if action in decide.FORM_ACTIONS:
            inputs.values, inputs.problems = form.collect(review, raw)
        teams = [t for t in escalation_teams(engine.store) if t != review["team"]]
        decision = decide.build(review, action, inputs, teams)
        res = engine.fork(run_id, review_id, decision, by=user["name"])
    except (LoopgateError, ValueError) as exc:
        remember(_MSG, "error", f"Nothing was forked: {str(exc).rstrip('.')}.")
        st.session_state[_FROM] = run_id
        return
    remember(
        _MSG,
        "success",
        f"Forked {run_id} at {res.node_id} into {res.run.run_id}: {_where(res.run)}",
    )
    st.session_state[_NEW] = res.run.run_id
    st.session_state[_FROM] = run_id


def _where(res: Any) -> str:
    if res.status == "waiting":
        return f"it waits at {res.waiting_on} (review {res.review_id})."
    if res.status == "failed":
        return f"it failed: {res.error}"
    return f"{res.status}" + (f" ({res.result})." if res.result else ".")
