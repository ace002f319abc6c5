"""What the home and sign-in pages show: the introduction and the state of the store."""

from __future__ import annotations

from typing import Any

from builder.shell import resources
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
        "3. Drive the same workflows from the command line: `loopgate reviews`, "
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
    """How many pending reviews the user's teams (all, for an admin) have, up to 1,000.

    Args:
        user: the signed-in user's row.

    Returns:
        The count, capped at 1,000.
    """
    teams = None if "admin" in user["roles"] else list(user["teams"])
    return len(resources.engine().store.list_pending_reviews(teams=teams, limit=1000))


def overview() -> dict[str, Any]:
    """Counts and workflow list for the home page.

    Returns:
        ``workflows`` (the store's workflow rows), ``pending`` (reviews waiting), ``runs``
        (run counts by status) and ``total_runs``.
    """
    store = resources.engine().store
    counts = store.count_runs()
    return {
        "workflows": store.list_workflows(),
        "pending": store.count_pending_reviews(),
        "runs": counts,
        "total_runs": sum(counts.values()),
    }
