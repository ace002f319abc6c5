"""Who is signed in: sign-in (throttled), sign-out (revoking), and the session cookie.

The cookie ``lg_session`` is HttpOnly: page scripts can neither read nor set it. The server
sets it at ``/auth/session`` when the browser trades the one-time ticket this module hands
out at sign-in (:mod:`builder.shell.auth_routes`), and clears it at ``/auth/signout``.
Sign-out revokes every session of the user server-side (:class:`runtime.auth.SessionTokens`);
a cookie lasts at most ``$LOOPGATE_SESSION_HOURS`` (12 h) and dies with the server's secret
when the server restarts.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import streamlit as st

from builder.shell import resources
from runtime import AccessError
from runtime.auth import SessionTokens, SignInThrottle
from runtime.auth import sign_in as check_sign_in

_KEY = "lg_user"
COOKIE = "lg_session"
_TICKET = "lg_ticket"
_SIGNED_OUT = "lg_signed_out"
THROTTLE = SignInThrottle()
"""Failed sign-ins per user name and per address, shared by the form and the route."""

_tokens: SessionTokens | None = None
_tokens_lock = threading.Lock()


def tokens() -> SessionTokens | None:
    """The session tokens signed with the server's secret (None outside a server)."""
    global _tokens
    secret = resources.secret()
    if not secret:
        return None
    with _tokens_lock:
        if _tokens is None or _tokens.secret != secret:
            _tokens = SessionTokens(secret)
        return _tokens


def _from_cookie() -> str | None:
    signer = tokens()
    return signer.verify(_browser_cookie()) if signer else None


def current_user() -> dict[str, Any] | None:
    """The signed-in user (re-read from the store so role changes apply at once).

    Returns:
        The user's row, or None for a visitor, an unknown or a disabled user. A valid
        session cookie signs the session in, unless this session signed out.
    """
    name = st.session_state.get(_KEY)
    if not name and not st.session_state.get(_SIGNED_OUT):
        name = _from_cookie()
    if not name:
        return None
    user = resources.engine().store.get_user(name)
    if user is None or user["disabled"]:
        st.session_state.pop(_KEY, None)
        return None
    st.session_state[_KEY] = name
    return user


def _address() -> str | None:
    try:
        address = st.context.ip_address
    except Exception:  # no browser context (page tests)
        return None
    return address if isinstance(address, str) and address else None


def sign_in(name: str, password: str) -> str | None:
    """Sign this session in and hand the browser a ticket for its cookie.

    Failures are throttled per user name and per client address
    (:class:`runtime.auth.SignInThrottle`).

    Args:
        name: the user name as typed (trimmed, lower-cased here).
        password: the password.

    Returns:
        An error message, or None on success.
    """
    try:
        user = check_sign_in(
            resources.engine().store,
            name.strip().lower(),
            password,
            address=_address(),
            throttle=THROTTLE,
        )
    except AccessError as exc:
        return str(exc)
    st.session_state[_KEY] = user["name"]
    signer = tokens()
    if signer is not None:
        st.session_state[_TICKET] = signer.ticket(user["name"])
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
            st.error(f"{error[0].upper()}{error[1:]}. Check the name and password and try again.")
        else:
            st.rerun()


def sign_out() -> None:
    """Revoke this user's sessions server-side, forget everything this session holds, and
    make the next cookie sync clear the browser's cookie."""
    name = st.session_state.get(_KEY)
    signer = tokens()
    if name and signer is not None:
        signer.revoke(name)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[_SIGNED_OUT] = True  # the browser's cookie must not sign us back in


def sync_cookie() -> None:
    """Keep the browser's HttpOnly session cookie in step with this session; call once per
    run.

    After sign-in the browser trades the ticket for the cookie (``POST /auth/session``);
    after sign-out it asks the server to clear it (``POST /auth/signout``). The frame is
    rendered on every run with the same arguments (so the browser keeps one frame) because
    a frame removed by the next rerun may not have run yet.
    """
    if st.session_state.get(_SIGNED_OUT):
        path, body = "/auth/signout", {}
    elif st.session_state.get(_TICKET):
        path, body = "/auth/session", {"ticket": st.session_state[_TICKET]}
    else:
        return
    # The script runs in the app's own page (st.html, not a frame: st.components.v1.html is
    # deprecated), so its same-origin fetch carries and receives the app's cookies. Nothing
    # in it comes from the user but the ticket, which json.dumps quotes.
    st.html(
        f"<script>fetch({json.dumps(path)}, {{method: 'POST', credentials: 'same-origin', "
        f"headers: {{'Content-Type': 'application/json'}}, body: {json.dumps(json.dumps(body))}}});"
        "</script>",
        unsafe_allow_javascript=True,
    )


def _browser_cookie() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
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
