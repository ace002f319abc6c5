"""Dashboard: approval, override and automation rates, time to decision, backlog, calibration
and the threshold what-if (auditors and admins)."""

import streamlit as st

from builder.dashboard import view
from builder.shell.session import require_user

user = require_user("auditor")
st.title("Dashboard")
view.render(user)
