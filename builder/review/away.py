"""Out of office: the signed-in reviewer hands their reviews to a delegate for a while
(a small form in the Review page's sidebar; the rules live in runtime)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import streamlit as st

from builder.review import state
from runtime.access import User
from runtime.errors import LoopgateError
from runtime.queries.delegation import delegate_candidates


def sidebar(user: User) -> None:
    """The "Out of office" box: the current delegation and a form to set or end it.

    Args:
        user: the signed-in reviewer or admin.
    """
    engine = state.engine()
    current = engine.delegations.get(user["name"])
    with st.sidebar.expander("Out of office", icon=":material/flight_takeoff:"):
        if current:
            st.markdown(
                f"Your reviews go to **{current['delegate']}** from "
                f"{current['starts_at']:%Y-%m-%d %H:%M} until "
                f"{current['ends_at']:%Y-%m-%d %H:%M} UTC."
            )
            if st.button("End delegation", key="rv_away_clear", width="stretch"):
                _act(lambda: engine.delegations.clear(user["name"], by=user["name"]), "Ended.")
        names = delegate_candidates(engine.store, user)
        if not names:
            st.caption("Nobody else is in all of your teams to take your reviews.")
            return
        with st.form("rv_away"):
            to = st.selectbox("Delegate", names, key="rv_away_to")
            today = state.now().date()
            start = st.date_input("From", today, key="rv_away_from")
            end = st.date_input("Until (inclusive)", today + timedelta(days=7), key="rv_away_until")
            note = st.text_input("Note", key="rv_away_note", placeholder="e.g. holiday")
            if st.form_submit_button("Set delegation", width="stretch"):
                starts = max(datetime.combine(start, time()), state.now())
                ends = datetime.combine(end + timedelta(days=1), time())
                _act(
                    lambda: engine.delegations.set(
                        user["name"], to, starts, ends, by=user["name"], note=note or None
                    ),
                    f"Your reviews go to {to} until {ends:%Y-%m-%d}.",
                )


def _act(change, done: str) -> None:
    try:
        change()
    except LoopgateError as exc:
        st.sidebar.error(str(exc))
        return
    st.toast(done)
    st.rerun()
