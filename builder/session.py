"""Who is signed in, in this browser session; sign-in and sign-out."""

from __future__ import annotations

from typing import Any

import streamlit as st

from builder import resources
from runtime import AccessError
from runtime.auth import authenticate

_KEY = "lg_user"


def current_user() -> dict[str, Any] | None:
    """The signed-in user (re-read from the store so role changes apply at once)."""
    name = st.session_state.get(_KEY)
    if not name:
        return None
    user = resources.engine().store.get_user(name)
    if user is None or user["disabled"]:
        st.session_state.pop(_KEY, None)
        return None
    return user


def sign_in(name: str, password: str) -> str | None:
    """Sign in; returns an error message, or None on success."""
    try:
        user = authenticate(resources.engine().store, name.strip().lower(), password)
    except AccessError as exc:
        return str(exc)
    st.session_state[_KEY] = user["name"]
    return None


def sign_out() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def has_role(user: dict[str, Any], *roles: str) -> bool:
    return "admin" in user["roles"] or bool(set(user["roles"]).intersection(roles))
