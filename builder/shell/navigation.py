"""Which pages a user gets by role, and the frame around them: sign-in gate and sidebar."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from builder.shell.session import current_user, has_role, sign_out, sync_cookie


@dataclass(frozen=True)
class PageEntry:
    """One page of the app and who may open it.

    Attributes:
        script: the page script, relative to ``app.py``.
        title: the title in the navigation.
        icon: a Material icon (``:material/name:``).
        roles: the roles that may open it (admins open every page); empty for everyone
            signed in.
        default: the page a signed-in user lands on.
    """

    script: str
    title: str
    icon: str
    roles: tuple[str, ...] = ()
    default: bool = False


SIGN_IN = PageEntry("pages/sign_in.py", "Sign in", ":material/login:")

# Every page a signed-in user may get, in navigation order.
PAGES: tuple[PageEntry, ...] = (
    PageEntry("pages/home.py", "Home", ":material/home:", default=True),
    PageEntry("pages/review.py", "Review", ":material/fact_check:", roles=("reviewer",)),
    PageEntry("pages/builder.py", "Builder", ":material/account_tree:", roles=("designer",)),
    PageEntry("pages/admin.py", "Admin", ":material/admin_panel_settings:", roles=("admin",)),
)


def pages_for(user: dict[str, Any] | None) -> list[PageEntry]:
    """The pages this user may open: only sign-in for a visitor.

    Args:
        user: the signed-in user (with its ``roles``), or None.

    Returns:
        Entries of :data:`PAGES` in order, or ``[SIGN_IN]``.
    """
    if user is None:
        return [SIGN_IN]
    return [p for p in PAGES if not p.roles or has_role(user, *p.roles)]


def _page(entry: PageEntry) -> Any:
    return st.Page(entry.script, title=entry.title, icon=entry.icon, default=entry.default)


def url_path(entry: PageEntry) -> str:
    """The page's URL path (its script's name, as Streamlit infers it): ``review``."""
    return entry.script.rsplit("/", 1)[-1].removesuffix(".py")


def _visitor_pages() -> list[Any]:
    """Sign-in at ``/`` and at every page's own path, so a link to a page opened before
    sign-in (``/review?review=ID``) shows the sign-in form instead of "Page not found",
    keeps its path and query, and lands on that page once signed in."""
    return [_page(SIGN_IN)] + [
        st.Page(SIGN_IN.script, title=SIGN_IN.title, icon=SIGN_IN.icon, url_path=url_path(p))
        for p in PAGES
        if not p.default
    ]


def _sidebar(user: dict[str, Any]) -> None:
    with st.sidebar:
        st.caption(
            f"Signed in as **{user['display_name'] or user['name']}** ({', '.join(user['roles'])})"
        )
        if st.button("Sign out", key="sign_out"):
            sign_out()
            st.rerun()


def run_app() -> None:
    """Gate, navigate and run the chosen page: the whole of ``app.py`` on every rerun."""
    user = current_user()
    if user is None:
        page = st.navigation(_visitor_pages(), position="hidden")
    else:
        page = st.navigation([_page(p) for p in pages_for(user)])
    if user is not None:
        _sidebar(user)
    sync_cookie()
    page.run()
