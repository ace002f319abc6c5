"""Loopgate's Streamlit entry: the sign-in gate, then the pages a user's roles allow."""

import streamlit as st

from builder.session import current_user, has_role, sign_out, sync_cookie

st.set_page_config(page_title="Loopgate", page_icon="⏸️", layout="wide")

user = current_user()
if user is None:
    page = st.navigation([st.Page("pages/sign_in.py", title="Sign in", icon=":material/login:")])
else:
    pages = [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)]
    if has_role(user, "designer"):
        pages.append(st.Page("pages/builder.py", title="Builder", icon=":material/account_tree:"))
    page = st.navigation(pages)
    with st.sidebar:
        st.caption(
            f"Signed in as **{user['display_name'] or user['name']}** ({', '.join(user['roles'])})"
        )
        if st.button("Sign out", key="sign_out"):
            sign_out()
            st.rerun()
sync_cookie()
page.run()
