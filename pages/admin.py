"""Admin: users, their sign-in and their API tokens."""

import streamlit as st

from builder.admin import users
from builder.shell.session import require_user

user = require_user("admin")
st.title("Admin")
st.caption(
    "Users: disable or enable, set passwords, revoke or issue API tokens. Every change is audited."
)
users.outcome()
rows = users.users_table(user)
users.user_actions(user, rows)
