"""Home: what Loopgate is, what is in this database, where to go next."""

import streamlit as st

from builder.shell.home import my_queue, overview
from builder.shell.session import has_role, require_user

st.title("⏸️ Loopgate")
st.caption("AI workflows with a human in the loop: design, run, review, audit.")
user = require_user()
data = overview()
can_design = has_role(user, "designer")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Workflows", len(data["workflows"]))
c2.metric("Waiting for review", data["pending"])
c3.metric("Runs", data["total_runs"])
c4.metric("Failed runs", data["runs"].get("failed", 0))

if has_role(user, "reviewer") and user["teams"]:
    st.info(
        f"**{my_queue(user)}** review(s) wait for your teams ({', '.join(user['teams'])}). "
        "Decide them with `loopgate reviews --team TEAM` and `loopgate decide`, or through "
        "the HTTP API (`/api/docs`)."
    )

st.subheader("Workflows")
if not data["workflows"]:
    st.info(
        "No workflows yet. Open the Builder to draw one, "
        "or run `loopgate workflows save FILE.yaml`."
    )
for wf in data["workflows"]:
    with st.container(border=True):
        left, right = st.columns([5, 1])
        left.markdown(
            f"**{wf['name']}**  \n`{wf['id']}` · v{wf['version']} · {wf['status']}"
            f" · saved by {wf['created_by'] or '-'}"
        )
        if can_design and right.button("Open in Builder", key=f"open_{wf['id']}"):
            st.session_state["builder_open"] = wf["id"]
            st.switch_page("pages/builder.py")
