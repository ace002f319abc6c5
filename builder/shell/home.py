"""What the home and sign-in pages show: the introduction and the state of the store."""

from __future__ import annotations

from typing import Any

import streamlit as st

from builder.shell import resources
from builder.shell.session import has_role
from runtime import queries
from runtime.seed import DEMO_PASSWORD, DEMO_USERS


def intro_markdown() -> str:
    """What Loopgate is and where to start, as Markdown for the sign-in page."""
    return (
        "**A low-code builder and durable runtime for AI workflows with a human in the loop.**\n\n"
        "Draw a workflow on a canvas, put **checkpoints** where a person must approve, correct, "
        "escalate or give feedback, and Loopgate runs it: runs pause durably at checkpoints and "
        "resume when a reviewer decides. Every run, decision and correction lands in one DuckDB "
        "file with a tamper-evident audit trail.\n\n"
        "**Where to start**\n"
        "1. Sign in (demo accounts below on a fresh install).\n"
        "2. Open the **Builder**, load an example such as *Expense approval*, and press "
        "**Test run** to follow an item through its checkpoints.\n"
        "3. Reviewers decide the waiting items on the **Review** page.\n"
        "4. Drive the same workflows from the command line: `loopgate reviews`, "
        "`loopgate decide`, or the HTTP API at `/api/docs`."
    )


def demo_accounts_hint() -> str | None:
    """The demo sign-ins, shown only while the demo password still works."""
    from runtime.auth import authenticate
    from runtime.errors import AccessError

    store = resources.engine().store
    try:
        authenticate(store, "ada", DEMO_PASSWORD)
    except AccessError:
        return None
    names = ", ".join(
        f"`{name}` ({display.split('(')[1].rstrip(')')})" for name, display, _, _ in DEMO_USERS
    )
    return f"Demo accounts: {names}; password `{DEMO_PASSWORD}`."


def my_queue(user: dict[str, Any]) -> int:
    """How many pending reviews the user may see (their teams', all for an admin).

    Args:
        user: the signed-in user's row.

    Returns:
        The count.
    """
    return queries.reviews.count_pending_reviews(resources.engine().store, user)


def overview(user: dict[str, Any]) -> dict[str, Any]:
    """Counts and workflow list for the home page, as the user may see them.

    Args:
        user: the signed-in user's row.

    Returns:
        ``workflows`` (the store's workflow rows), ``pending`` (reviews waiting), ``runs``
        (run counts by status) and ``total_runs``.
    """
    store = resources.engine().store
    counts = queries.runs.run_counts(store, user)
    return {
        "workflows": queries.catalog.list_workflows(store, user),
        "pending": queries.reviews.count_pending_reviews(store, user),
        "runs": counts,
        "total_runs": sum(counts.values()),
    }


# ---------------------------------------------------------------- widgets


def metrics(data: dict[str, Any]) -> None:
    """The four figures at the top of Home.

    Args:
        data: what :func:`overview` returns.
    """
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Workflows", len(data["workflows"]))
    c2.metric("Waiting for review", data["pending"])
    c3.metric("Runs", data["total_runs"])
    c4.metric("Failed runs", data["runs"].get("failed", 0))


def queue_note(user: dict[str, Any]) -> None:
    """For a reviewer or an admin: how many reviews wait for them, and a link to the Review
    page where they decide them."""
    if not has_role(user, "reviewer"):
        return
    teams = f" for your teams ({', '.join(user['teams'])})" if user["teams"] else ""
    with st.container(border=True):
        st.markdown(f"**{my_queue(user)}** review(s) wait{teams}.")
        st.page_link("pages/review.py", label="Open the Review page", icon=":material/fact_check:")


def workflow_list(workflows: list[dict[str, Any]], user: dict[str, Any]) -> None:
    """One card per workflow; designers get a button that opens it in the Builder.

    Args:
        workflows: the store's workflow rows.
        user: the signed-in user.
    """
    if not workflows:
        st.info(
            "No workflows yet. Open the Builder to draw one, "
            "or run `loopgate workflows save FILE.yaml`."
        )
    can_design = has_role(user, "designer")
    for wf in workflows:
        with st.container(border=True):
            left, right = st.columns([5, 1])
            left.markdown(
                f"**{wf['name']}**  \n`{wf['id']}` · v{wf['version']} · {wf['status']}"
                f" · saved by {wf['created_by'] or '-'}"
            )
            if can_design and right.button("Open in Builder", key=f"open_{wf['id']}"):
                st.session_state["builder_open"] = wf["id"]
                st.switch_page("pages/builder.py")
