"""Sign-in page: also the first thing a visitor sees, so it says what Loopgate is."""

import streamlit as st

from builder.shell.home import demo_accounts_hint, intro_markdown
from builder.shell.session import sign_in

left, right = st.columns([3, 2], gap="large")
with left:
    st.title("⏸️ Loopgate")
    st.markdown(intro_markdown())
with right:
    st.subheader("Sign in")
    with st.form("sign_in_form"):
        name = st.text_input("User name", key="sign_in_name")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        error = sign_in(name, password)
        if error:
            st.error(f"{error.capitalize()}. Check the name and password and try again.")
        else:
            st.rerun()
    hint = demo_accounts_hint()
    if hint:
        st.info(hint)
