"""Home: what Loopgate is, what is in this database, where to go next."""

import streamlit as st

from builder.shell import home
from builder.shell.session import require_user

st.title("⏸️ Loopgate")
st.caption("AI workflows with a human in the loop: design, run, review, audit.")
user = require_user()
data = home.overview(user)
home.metrics(data)
home.queue_note(user)

st.subheader("Workflows")
home.workflow_list(data["workflows"], user)
