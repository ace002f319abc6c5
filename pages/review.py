"""Review: the reviewer's inbox, and one review at a time (``?review=ID`` opens it)."""

import streamlit as st

from builder.review import state, view
from builder.shell.session import require_user

user = require_user("reviewer")
st.title("Review")
review_id = state.open_id()
state.show_flashes()
if review_id:
    view.one_review(user, review_id)
else:
    st.caption("Pending reviews of your teams, most urgent and oldest first.")
    view.inbox(user)
