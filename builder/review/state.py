"""The Review page's session: which review is open (the ``?review=ID`` deep link is the
truth, so the address bar can be shared), the messages carried across a rerun, and who
is deciding (re-read from the store on every run)."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from builder.shell import resources
from runtime.engine import Engine

PARAM = "review"
"""The query parameter of a deep link: ``/review?review=rev_...``."""

_FLASH = "rv_flash"  # [(kind, text)]: outcomes shown once, after the rerun that follows them
_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")


def engine() -> Engine:
    """The server's one engine."""
    return resources.engine()


def open_id() -> str | None:
    """The review the deep link opens, or None for the queue.

    Returns:
        The id in ``?review=``; None when absent. A malformed one is dropped from the
        address with a message saying what a review id looks like.
    """
    value = st.query_params.get(PARAM)
    if not value:
        return None
    value = str(value).strip()
    if not _ID.fullmatch(value):
        shown = value if len(value) <= 40 else value[:40] + "…"
        flash("error", f"{shown!r} is not a review id (like rev_06h4…); pick a review below.")
        del st.query_params[PARAM]
        return None
    return value


def open_review(review_id: str) -> None:
    """Open one review (the address bar gets ``?review=ID``)."""
    st.query_params[PARAM] = review_id


def close_review() -> None:
    """Back to the queue (the deep link leaves the address bar)."""
    if PARAM in st.query_params:
        del st.query_params[PARAM]


def flash(kind: str, text: str) -> None:
    """Keep a message for the next run of the page.

    Args:
        kind: ``success``, ``info``, ``warning`` or ``error``.
        text: the message (Markdown).
    """
    st.session_state.setdefault(_FLASH, []).append((kind, text))


def show_flashes() -> None:
    """Show and forget the kept messages."""
    for kind, text in st.session_state.pop(_FLASH, []):
        getattr(st, kind)(text)


def now() -> Any:
    """The engine's current time (naive UTC, as the store keeps times)."""
    return engine().clock()
