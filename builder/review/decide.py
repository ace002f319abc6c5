"""Deciding one review: the actions it offers (the node registry's ``decision_actions``,
narrowed to the review's own list), the inputs each needs, and the decision through
``Engine.decide``, which checks access, the reason codes and the edits; this module only
refuses early what the engine would refuse anyway, with the page's wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from builder.review import form, state
from runtime.access import User
from runtime.engine.results import RunResult
from runtime.errors import LoopgateError, ReviewNotPendingError
from runtime.nodes import get_node_type
from runtime.nodes.base import Decision
from runtime.queries import reviews

LABELS = {
    "approve": "Approve",
    "reject": "Reject",
    "edit": "Save edits and approve",
    "escalate": "Escalate",
    "accept": "Accept",
    "revise": "Ask for a revision",
    "submit": "Submit",
    "choose": "Choose",
}
"""The button of each action (a choice that takes one option shows one button per option)."""

DONE = {
    "approve": "Approved",
    "reject": "Rejected",
    "edit": "Edited and approved",
    "escalate": "Escalated",
    "accept": "Accepted",
    "revise": "Sent back for a revision",
    "submit": "Submitted",
    "choose": "Routed",
}
"""What each action did, for the message after it."""

FORM_ACTIONS = ("edit", "submit", "choose")
"""The actions that send the form's fields (a choice's form holds its extra fields)."""


def offered(review: dict[str, Any]) -> list[str]:
    """The actions this review offers, in the node type's order.

    Args:
        review: the review row (``kind``, ``actions``).

    Returns:
        The registry's ``decision_actions`` of the review's type that the review lists
        (the review's own list when the type is unknown).
    """
    ntype = get_node_type(review["kind"])
    order = ntype.decision_actions if ntype is not None else tuple(review["actions"])
    return [a for a in order if a in review["actions"]]


def rates(review: dict[str, Any]) -> bool:
    """Whether the review's type takes a 1-5 rating (feedback reviews)."""
    ntype = get_node_type(review["kind"])
    return ntype is not None and ntype.rates


@dataclass
class Inputs:
    """What the reviewer filled in, as typed values.

    Attributes:
        values: the form's fields, typed (see :func:`builder.review.form.collect`).
        problems: the fields that did not parse, one line each.
        reason: the reject reason picked, if any.
        note: the note.
        team: the escalation team picked, if any.
        rating: the 1-5 rating, for reviews that rate.
        option: the option(s) a choice picked.
    """

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    reason: str | None = None
    note: str | None = None
    team: str | None = None
    rating: int | None = None
    option: str | list[str] | None = None


def picks_several(review: dict[str, Any]) -> bool:
    """Whether a choice review lets the person pick several options (its node's
    ``multiple``, read from the workflow version the run uses)."""
    if "choose" not in review["actions"] or not review.get("options"):
        return False
    try:
        wf = state.engine().workflow(review["workflow_id"], review["workflow_version"])
    except LoopgateError:
        return False
    node = wf.nodes.get(review["node_id"])
    return bool(node is not None and getattr(node.params, "multiple", False))


def build(review: dict[str, Any], action: str, inputs: Inputs, teams: list[str]) -> Decision:
    """The decision an action sends: only what that action takes (an approval never
    carries a reject reason).

    Args:
        review: the review row.
        action: one of :func:`offered`.
        inputs: what the reviewer filled in.
        teams: the teams an escalation may go to.

    Returns:
        The decision.

    Raises:
        ValueError: one line saying what is missing or wrong and what to do.
    """
    note = (inputs.note or "").strip() or None
    if note and len(note) > 5_000:
        raise ValueError(f"the note has {len(note):,} characters; keep it under 5,000")
    if action not in offered(review):
        raise ValueError(f"this review offers {', '.join(offered(review))}, not {action}")
    if action == "reject":
        codes = review.get("reason_codes") or []
        if codes and inputs.reason not in codes:
            raise ValueError(f"pick a reason to reject (one of: {', '.join(codes)})")
        return Decision(action="reject", reason=inputs.reason if codes else None, note=note)
    if action == "choose":
        if inputs.problems:
            raise ValueError("; ".join(inputs.problems))
        if not inputs.option:
            raise ValueError(f"pick an option: {', '.join(review.get('options') or [])}")
        data = {k: v for k, v in inputs.values.items() if v is not None}
        return Decision(action="choose", option=inputs.option, data=data, note=note)
    if action in FORM_ACTIONS:
        if inputs.problems:
            raise ValueError("; ".join(inputs.problems))
        data = (
            form.changed(review, inputs.values)
            if action == "edit"
            else {k: v for k, v in inputs.values.items() if v is not None}
        )
        if action == "edit" and not data:
            raise ValueError("no field was changed: change one, or approve as it is")
        return Decision(action=action, data=data, note=note)
    if action == "escalate":
        if inputs.team not in teams:
            shown = f"{inputs.team!r} is not a team" if inputs.team else "no team was picked"
            raise ValueError(f"{shown}; escalate to one of: {', '.join(teams) or '(none)'}")
        return Decision(action="escalate", team=inputs.team, note=note)
    if action == "revise" and not note:
        raise ValueError("say in the note what to change before asking for a revision")
    rating = inputs.rating if rates(review) else None
    return Decision(action=action, note=note, rating=rating)  # type: ignore[arg-type]


def button_key(review_id: str, action: str) -> str:
    """The session-state key of an action's button on a review."""
    return f"rv_d_{review_id}_do_{action}"


def option_key(review_id: str, option: str) -> str:
    """The session-state key of one option's button on a choice review."""
    return button_key(review_id, f"choose_{option}")


def pressed(review: dict[str, Any]) -> bool:
    """Whether one of the review's action buttons was pressed in this run, read before the
    buttons are drawn (for a review decided by someone else since it was shown)."""
    keys = [button_key(review["id"], a) for a in review["actions"]]
    keys += [option_key(review["id"], o) for o in review.get("options") or []]
    return any(st.session_state.get(k) for k in keys)


def too_late(review: dict[str, Any]) -> Outcome:
    """The refusal of a decision on a review someone else settled first: who and when."""
    exc = ReviewNotPendingError(
        review["id"], review["status"], review.get("decided_by"), str(review.get("decided_at"))
    )
    return Outcome(False, f"{str(exc)[0].upper()}{str(exc)[1:]}.", race=True)


@dataclass
class Outcome:
    """How a decision went.

    Attributes:
        ok: it was applied.
        text: what happened (and where the run went next), or why nothing was changed.
        race: someone else decided the review first.
        result: the run's state after the decision.
    """

    ok: bool
    text: str
    race: bool = False
    result: RunResult | None = None


def where_next(result: RunResult) -> str:
    """Where a run went after a decision, in one sentence.

    Args:
        result: what ``Engine.decide`` returned.

    Returns:
        The text.
    """
    if result.status == "waiting":
        team = f", team {result.team}" if result.team else ""
        return (
            f"Run {result.run_id} now waits at {result.waiting_on} "
            f"(review {result.review_id}{team})."
        )
    if result.status == "failed":
        return f"Run {result.run_id} failed: {result.error}"
    end = f" ({result.result})" if result.result else ""
    return f"Run {result.run_id} {result.status}{end}."


def apply(user: User, review: dict[str, Any], decision: Decision) -> Outcome:
    """Send a decision through the engine as the signed-in user.

    Args:
        user: the signed-in user.
        review: the review row.
        decision: what :func:`build` made.

    Returns:
        The outcome; a review decided meanwhile by someone else is a ``race`` naming who
        and when.
    """
    try:
        result = state.engine().decide(review["id"], decision, by=user["name"])
    except ReviewNotPendingError as exc:
        return Outcome(False, f"{str(exc)[0].upper()}{str(exc)[1:]}.", race=True)
    except LoopgateError as exc:
        return Outcome(False, f"Nothing was decided: {exc}")
    if result.votes:  # several approvers: a vote that left the review open
        return Outcome(
            True,
            f"You voted {decision.action} on review {review['id']}: {result.votes}.",
            result=result,
        )
    done = DONE.get(decision.action, decision.action)
    if decision.action == "choose":
        picked = decision.option if isinstance(decision.option, list) else [decision.option]
        done = f"Picked {', '.join(map(str, picked))} for"
    return Outcome(True, f"{done} review {review['id']}. {where_next(result)}", result=result)


def panel(user: User, review: dict[str, Any]) -> Outcome | None:
    """The decision form: the editable fields, the inputs the offered actions need, and one
    button per action.

    Args:
        user: the signed-in user.
        review: the review row (pending).

    Returns:
        The outcome of the action pressed in this run, or None.
    """
    actions = offered(review)
    teams = [t for t in reviews.escalation_teams(state.engine().store) if t != review["team"]]
    key = f"rv_d_{review['id']}"
    with st.form(key):
        raw: dict[str, Any] = {}
        if review.get("form") and any(a in actions for a in FORM_ACTIONS):
            filling = "submit" in actions or "choose" in actions
            st.markdown("#### " + ("Fill in" if filling else "Correct if needed"))
            raw = form.inputs(review, key)
        inputs = Inputs()
        several = picks_several(review)
        if several:
            inputs.option = st.multiselect(
                "Options (pick one or more)", review["options"], key=f"{key}_options"
            )
        if "reject" in actions and review.get("reason_codes"):
            inputs.reason = st.selectbox(
                "Reason (to reject)",
                review["reason_codes"],
                index=None,
                placeholder="Pick a reason",
                key=f"{key}_reason",
            )
        if "escalate" in actions:
            inputs.team = st.selectbox(
                "Team (to escalate)",
                teams,
                index=None,
                placeholder="Pick a team",
                key=f"{key}_team",
            )
        if rates(review):
            inputs.rating = st.slider("Rating", 1, 5, 4, key=f"{key}_rating")
        inputs.note = st.text_area(
            "Note", key=f"{key}_note", max_chars=5_000, placeholder="Why (kept in the audit trail)"
        )
        pressed = None
        for col, (action, label, option, bkey) in zip(
            st.columns(len(buttons := _buttons(review, actions, several))), buttons, strict=True
        ):
            kind = "primary" if action in ("approve", "accept", "submit", "choose") else "secondary"
            if col.form_submit_button(label, type=kind, key=bkey):
                pressed = action
                if option is not None:
                    inputs.option = option
    if pressed is None:
        return None
    inputs.values, inputs.problems = form.collect(review, raw)
    try:
        decision = build(review, pressed, inputs, teams)
    except ValueError as exc:
        return Outcome(False, f"Nothing was decided: {exc}.")
    return apply(user, review, decision)


def _buttons(
    review: dict[str, Any], actions: list[str], several: bool
) -> list[tuple[str, str, str | None, str]]:
    """``(action, label, option, key)`` per button: a choice that takes one option gets one
    button per option (the option is the decision), the other actions one each."""
    out = []
    for action in actions:
        if action == "choose" and review.get("options") and not several:
            out += [("choose", o, o, option_key(review["id"], o)) for o in review["options"]]
        else:
            out.append(
                (action, LABELS.get(action, action.title()), None, button_key(review["id"], action))
            )
    return out
