"""What a Builder test run came to, in words: who decided what at which node, and where it
ended ("rejected at manager", not "succeeded (rejected)"); and review text cleaned for the
card (a template whose last value was empty leaves no dangling colon)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# a decision's action -> how the outcome line says it
PAST = {
    "approve": "approved",
    "reject": "rejected",
    "edit": "edited and approved",
    "escalate": "escalated",
    "choose": "chose",
    "submit": "submitted",
    "revise": "revised",
    "rate": "rated",
    "timeout": "timed out",
}
_DANGLING = re.compile(r"[ \t]*[:;,][ \t]*$", re.MULTILINE)


def clean_text(text: str | None) -> str:
    """Review text as the card shows it: trailing blanks gone, and a line that ends in a
    colon (or semicolon, comma) with nothing after it (an empty value at the end of a template,
    e.g. "zoe spent 300 EUR on travel: ") ends without it.

    Args:
        text: the rendered instructions or note; None reads as empty.

    Returns:
        The cleaned text.
    """
    return _DANGLING.sub("", (text or "").rstrip())


def decisions(events: Iterable[dict[str, Any]]) -> list[str]:
    """The run's checkpoint outcomes in order, each as "<what> at <node>".

    Args:
        events: the run's events (``kind``, ``node_id``, ``data``), oldest first.

    Returns:
        E.g. ``["rejected at manager (over_policy)"]``; a deadline that passed reads
        "timed out at x (deadline)" or "escalated at x (deadline)".
    """
    out = []
    for ev in events:
        data = ev.get("data") or {}
        kind = ev.get("kind")
        if kind not in ("review.decided", "review.expired"):
            continue
        action = str(data.get("action") or ("timeout" if kind == "review.expired" else ""))
        what = PAST.get(action, action)
        option = data.get("option")
        if action == "choose" and option not in (None, "", []):
            what += " " + (", ".join(map(str, option)) if isinstance(option, list) else str(option))
        detail = "deadline" if kind == "review.expired" else data.get("reason")
        out.append(f"{what} at {ev.get('node_id') or '?'}" + (f" ({detail})" if detail else ""))
    return out


def outcome(
    status: str, result: Any, error: str | None, events: list[dict[str, Any]]
) -> tuple[str, str]:
    """The test run's outcome line as ``(kind, text)``; kind is an ``st`` method.

    Args:
        status: the run's status (succeeded, failed, waiting, ...).
        result: the end node's result, if any.
        error: the failure's message, if any.
        events: the run's events, oldest first.

    Returns:
        "Test run rejected at manager (over_policy), ended at refused (rejected)" for a run
        a person rejected (or a deadline timed out); "Test run succeeded (approved):
        approved at manager" for one that went through; "Test run failed at x: ..." and
        "Test run waiting at x" otherwise.
    """
    steps = decisions(events)
    at = next((e.get("node_id") for e in reversed(events) if e.get("node_id")), None) or "?"
    res = f" ({result})" if result not in (None, "") else ""
    if status == "failed":
        return "error", f"Test run failed at {at}: {error or 'no message'}"
    if status == "waiting":
        return "info", f"Test run waiting at {at}" + (f" after {', '.join(steps)}" if steps else "")
    if status == "succeeded" and steps and steps[-1].startswith(("rejected", "timed out")):
        earlier = f" after {', '.join(steps[:-1])}" if len(steps) > 1 else ""
        return "warning", f"Test run {steps[-1]}{earlier}, ended at {at}{res}"
    kind = "success" if status == "succeeded" else "info"
    return kind, f"Test run {status}{res}" + (f": {', '.join(steps)}" if steps else "")
