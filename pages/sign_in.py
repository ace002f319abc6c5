"""Sign-in page: also the first thing a visitor sees, so it says what Loopgate is."""

import streamlit as st

from builder.shell.home import demo_accounts_hint, intro_markdown
from builder.shell.session import sign_in_form

left, right = st.columns([3, 2], gap="large")
with left:
    st.title("⏸️ Loopgate")
    st.markdown(intro_markdown())
with right:
    st.subheader("Sign in")
    sign_in_form()
    hint = demo_accounts_hint()
    if hint:
        st.info(hint)
