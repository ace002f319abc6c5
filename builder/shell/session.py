"""Who is signed in: sign-in, sign-out, and a signed cookie that survives page reloads.

The cookie is valid until it expires or the server restarts (its key is the server's secret).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import streamlit as st
import streamlit.components.v1 as components

from builder.shell import resources
from runtime import AccessError
from runtime.auth import authenticate

_KEY = "lg_user"
_COOKIE = "lg_session"
_COOKIE_VALUE = "lg_cookie_value"
_SIGNED_OUT = "lg_signed_out"
SESSION_SECONDS = 12 * 3600


def _sign(payload: str) -> str | None:
    secret = resources.secret()
    if not secret:
        return None
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _token(name: str) -> str | None:
    payload = f"{name}.{int(time.time()) + SESSION_SECONDS}"
    sig = _sign(payload)
    return f"{payload}.{sig}" if sig else None


def _from_cookie() -> str | None:
    token = _browser_cookie()
    if not token or token.count(".") < 2:
        return None
    payload, _, sig = token.rpartition(".")
    name, _, expiry = payload.rpartition(".")
    good = _sign(payload)
    if not good or not hmac.compare_digest(good, sig) or not expiry.isdigit():
        return None
    return name if int(expiry) > time.time() else None


def current_user() -> dict[str, Any] | None:
    """The signed-in user (re-read from the store so role changes apply at once).

    Returns:
        The user's row, or None for a visitor, an unknown or a disabled user. A valid
        session cookie signs the session in, unless this session signed out.
    """
    name = st.session_state.get(_KEY)
    if not name and not st.session_state.get(_SIGNED_OUT):
        name = _from_cookie()
        if name:
            st.session_state[_COOKIE_VALUE] = _browser_cookie()
    if not name:
        return None
    user = resources.engine().store.get_user(name)
    if user is None or user["disabled"]:
        st.session_state.pop(_KEY, None)
        return None
    st.session_state[_KEY] = name
    return user


def sign_in(name: str, password: str) -> str | None:
    """Sign this session in and prepare its cookie.

    Args:
        name: the user name as typed (trimmed, lower-cased here).
        password: the password.

    Returns:
        An error message, or None on success.
    """
    try:
        user = authenticate(resources.engine().store, name.strip().lower(), password)
    except AccessError as exc:
        return str(exc)
    st.session_state[_KEY] = user["name"]
    st.session_state[_COOKIE_VALUE] = _token(user["name"])
    st.session_state.pop(_SIGNED_OUT, None)
    return None


def sign_in_form() -> None:
    """The sign-in form; a wrong name or password is shown under it, success reruns the app."""
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


def sign_out() -> None:
    """Forget everything this session holds, and make the next cookie sync clear the cookie."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[_SIGNED_OUT] = True  # the browser's cookie must not sign us back in


def sync_cookie() -> None:
    """Keep the browser's session cookie in step with this session; call once per run.

    The cookie setter is rendered on every run (with the same arguments, so the browser
    keeps one frame) because a frame removed by the next rerun may not have run yet.
    """
    if st.session_state.get(_SIGNED_OUT):
        token, age = "", 0
    else:
        token, age = st.session_state.get(_COOKIE_VALUE), SESSION_SECONDS
        if not token or _browser_cookie() == token:
            return
    # A component frame is same-origin, so it can set the app's cookie (Streamlit cannot).
    components.html(
        f"<script>document.cookie = '{_COOKIE}={token}; path=/; max-age={age}; SameSite=Strict';"
        "</script>",
        height=0,
    )


def _browser_cookie() -> str | None:
    try:
        value = st.context.cookies.get(_COOKIE)
    except Exception:  # no browser context (page tests)
        return None
    return value if isinstance(value, str) else None


def require_user(*roles: str) -> dict[str, Any]:
    """The signed-in user; stops the page for anyone else.

    A page must never rely on the navigation alone to keep it private: each calls this first.

    Args:
        *roles: roles any one of which the page needs (admins have them all); none for any
            signed-in user.

    Returns:
        The user's row.
    """
    user = current_user()
    if user is None:
        st.warning("Sign in to see this page.")
        st.stop()
    if roles and not has_role(user, *roles):
        st.error(f"This page needs the role {' or '.join(roles)}.")
        st.stop()
    return user


def has_role(user: dict[str, Any], *roles: str) -> bool:
    """Whether the user is an admin or has one of ``roles``."""
    return "admin" in user["roles"] or bool(set(user["roles"]).intersection(roles))
