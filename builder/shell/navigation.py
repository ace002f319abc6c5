"""Which pages a user gets by role, and the frame around them: sign-in gate and sidebar."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
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
APP_ROOT = Path(__file__).resolve().parents[2]
"""The folder of ``app.py``: page scripts are relative to it."""

# Every page the app knows, in navigation order, with the roles that get it (admins get
# every page). Designers: Builder and Runs; reviewers: Review; auditors: Dashboard, Audit
# and Runs; operators: Runs.
ALL_PAGES: tuple[PageEntry, ...] = (
    PageEntry("pages/home.py", "Home", ":material/home:", default=True),
    PageEntry("pages/builder.py", "Builder", ":material/account_tree:", roles=("designer",)),
    PageEntry("pages/review.py", "Review", ":material/fact_check:", roles=("reviewer",)),
    PageEntry("pages/dashboard.py", "Dashboard", ":material/monitoring:", roles=("auditor",)),
    PageEntry("pages/audit.py", "Audit", ":material/policy:", roles=("auditor",)),
    PageEntry(
        "pages/runs.py",
        "Runs",
        ":material/play_circle:",
        roles=("designer", "operator", "auditor"),
    ),
    PageEntry("pages/admin.py", "Admin", ":material/admin_panel_settings:", roles=("admin",)),
)


def present(entries: tuple[PageEntry, ...], root: Path = APP_ROOT) -> tuple[PageEntry, ...]:
    """The entries whose page script exists under ``root`` (a page still being built is
    left out of the navigation until its file lands).

    Args:
        entries: page entries.
        root: the folder the scripts are relative to.

    Returns:
        The entries with a script, in order.
    """
    return tuple(p for p in entries if (root / p.script).is_file())


PAGES: tuple[PageEntry, ...] = present(ALL_PAGES)
"""The pages this installation has, in navigation order."""


def pages_for(
    user: dict[str, Any] | None, pages: tuple[PageEntry, ...] | None = None
) -> list[PageEntry]:
    """The pages this user may open: only sign-in for a visitor.

    Args:
        user: the signed-in user (with its ``roles``), or None.
        pages: the pages to choose from (default :data:`PAGES`, those installed).

    Returns:
        Entries of ``pages`` in order, or ``[SIGN_IN]``.
    """
    if user is None:
        return [SIGN_IN]
    return [
        p for p in (PAGES if pages is None else pages) if not p.roles or has_role(user, *p.roles)
    ]


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
