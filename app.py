"""Loopgate's Streamlit entry: the sign-in gate, then the pages a user's roles allow."""

import streamlit as st

from builder.shell.navigation import run_app

st.set_page_config(page_title="Loopgate", page_icon="⏸️", layout="wide")
run_app()
