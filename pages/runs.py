"""Runs: filter the runs you may see, open one, retry it when failed, cancel it when waiting,
fork it at a checkpoint with another decision."""

import streamlit as st

from builder.ops import dataset, runs
from builder.shell.session import require_user

user = require_user("designer", "operator", "auditor")
st.title("Runs")
chosen = runs.filters(user)
listed = runs.run_list(user, chosen)
run_id = runs.pick_run(listed)
runs.outcome()
if run_id:
    runs.run_detail(user, run_id)
if dataset.may_read(user):
    with st.expander("Decisions dataset (JSON Lines, Parquet)"):
        dataset.dataset_panel(user, key="runs")
