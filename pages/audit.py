"""Audit: search the audit trail, follow a run's timeline, check the chain, export."""

import streamlit as st

from builder.ops import audit, dataset
from builder.shell.session import require_user

user = require_user("auditor")
st.title("Audit")
st.caption("Every run start, step, review, decision and change, hash-chained and sealed.")
tab_search, tab_timeline, tab_chain, tab_data = st.tabs(
    ["Search", "Run timeline", "Chain check", "Decisions dataset"]
)
with tab_search:
    search = audit.search_form()
    audit.results(user, search)
with tab_timeline:
    audit.timeline(user)
with tab_chain:
    audit.chain_check(user)
with tab_data:
    dataset.dataset_panel(user, key="aud")
