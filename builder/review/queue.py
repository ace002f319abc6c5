"""The queue: filters with their counts, one row per review (priority, age, deadline, who
holds it), paging, and the selection bulk decisions act on.

Reads go through ``runtime.queries.reviews.review_queue`` (the access rule applies there:
a reviewer sees their teams' reviews and those with no team). The filters live in
session state (``rv_f_*``), the page number in ``rv_page``, the selection in ``rv_sel_*``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from builder.review import clock, state
from runtime.access import User
from runtime.queries import reviews
from runtime.queries.reviews import ReviewQueue
from runtime.queries.votes import vote_badges

PAGE_SIZE = 25
ALL = "(all)"
ME, NOBODY = "(assigned to me)", "(unassigned)"
PRIORITIES = ("urgent", "high", "normal", "low")
PRIORITY_ICON = {"urgent": "🔴", "high": "🟠", "normal": "🔵", "low": "⚪"}
_PAGE = "rv_page"
_SEL = "rv_sel_"
FILTERS = ("team", "workflow_id", "node_id", "priority", "assignee")


def _key(name: str) -> str:
    return f"rv_f_{name}"


def query_args(user: User) -> dict[str, Any]:
    """The queue query's filters from the filter widgets' state.

    Args:
        user: the signed-in user (``assigned to me`` means them).

    Returns:
        Keyword arguments of ``review_queue`` (``team``, ..., ``unassigned``,
        ``older_than``).
    """
    args: dict[str, Any] = {}
    for name in FILTERS:
        value = st.session_state.get(_key(name), ALL)
        args[name] = None if value == ALL else value
    who = args.pop("assignee")
    args["assignee"] = user["name"] if who == ME else None if who == NOBODY else who
    args["unassigned"] = who == NOBODY
    args["older_than"] = clock.AGES.get(st.session_state.get(_key("age"), ""), None)
    return args


def load(user: User, *, page: int | None = None) -> ReviewQueue:
    """The current page of the user's queue with the filters' counts.

    Args:
        user: the signed-in user.
        page: the page (0-based); default the one in session state.

    Returns:
        The queue page.
    """
    page = st.session_state.get(_PAGE, 0) if page is None else page
    args = query_args(user)
    store, now = state.engine().store, state.now()
    queue = reviews.review_queue(
        store, user, **args, now=now, limit=PAGE_SIZE, offset=page * PAGE_SIZE
    )
    if not queue.items and queue.total:  # past the end (reviews were decided): last page
        st.session_state[_PAGE] = page = (queue.total - 1) // PAGE_SIZE
        queue = reviews.review_queue(
            store, user, **args, now=now, limit=PAGE_SIZE, offset=page * PAGE_SIZE
        )
    return queue


def next_review(user: User, *, skip: str | None = None) -> str | None:
    """The most urgent, oldest review left under the current filters (not ``skip``).

    Args:
        user: the signed-in user.
        skip: a review not to pick (the one just decided, should it still show).

    Returns:
        A review id, or None when the filtered queue is empty.
    """
    page = reviews.review_queue(
        state.engine().store, user, **query_args(user), now=state.now(), limit=2
    )
    return next((r["id"] for r in page.items if r["id"] != skip), None)


def matching_ids(user: User, cap: int) -> list[str]:
    """The ids of every review matching the filters, most urgent first, at most ``cap``.

    Args:
        user: the signed-in user.
        cap: the most ids to return.

    Returns:
        Review ids.
    """
    ids: list[str] = []
    while len(ids) < cap:
        page = reviews.review_queue(
            state.engine().store,
            user,
            **query_args(user),
            now=state.now(),
            limit=min(reviews.MAX_PAGE, cap - len(ids)),
            offset=len(ids),
        )
        ids += [r["id"] for r in page.items]
        if len(page.items) < page.limit:
            break
    return ids


def _reset_page() -> None:
    st.session_state[_PAGE] = 0


def counts_text(counts: dict[str, int], limit: int = 3) -> str:
    """A filter's counts in one line, biggest first: ``finance 6 · support 3 · +2 more``.

    Args:
        counts: value -> how many reviews it would give ("" for none).
        limit: the most values named.

    Returns:
        The text (``none`` when nothing matches).
    """
    ranked = sorted(((n, v) for v, n in counts.items() if n), key=lambda p: (-p[0], p[1]))
    if not ranked:
        return "none"
    shown = " · ".join(f"{v or '(none)'} {n}" for n, v in ranked[:limit])
    return shown + (f" · +{len(ranked) - limit} more" if len(ranked) > limit else "")


def _choice(label: str, name: str, counts: dict[str, int], order: list[str] | None = None) -> None:
    """One filter: a select of its values, and under it how many reviews each would give.

    The options' labels stay the same from run to run (a select box keeps its value by
    its label), so the counts go in the caption, not in the options.
    """
    key = _key(name)
    values = order if order is not None else sorted(counts)
    current = st.session_state.get(key, ALL)
    if current != ALL and current not in values:
        values = [*values, current]  # a value with no review left stays pickable
    st.selectbox(
        label,
        [ALL, *values],
        key=key,
        format_func=lambda v: v or "(none)",
        on_change=_reset_page,
    )
    st.caption(counts_text(counts))


def filters(queue: ReviewQueue, user: User) -> None:
    """The filter row: team, workflow, checkpoint, priority, assignee, age (with counts).

    Args:
        queue: the current page (its ``by_*`` counts).
        user: the signed-in user.
    """
    cols = st.columns(6)
    with cols[0]:
        _choice("Team", "team", queue.by_team)
    with cols[1]:
        _choice("Workflow", "workflow_id", queue.by_workflow)
    with cols[2]:
        _choice("Checkpoint", "node_id", queue.by_node)
    with cols[3]:
        _choice(
            "Priority",
            "priority",
            queue.by_priority,
            [p for p in PRIORITIES if p in queue.by_priority],
        )
    with cols[4]:
        counts = {k: v for k, v in queue.by_assignee.items() if k != reviews.NO_ASSIGNEE}
        mine = counts.pop(user["name"], 0)
        by = {ME: mine, NOBODY: queue.by_assignee.get(reviews.NO_ASSIGNEE, 0), **counts}
        _choice("Assignee", "assignee", by, list(by))
    with cols[5]:
        st.selectbox("Age", list(clock.AGES), key=_key("age"), on_change=_reset_page)


def selected() -> list[str]:
    """The reviews ticked on the queue's current page."""
    return [
        k.removeprefix(_SEL)
        for k, v in st.session_state.items()
        if isinstance(k, str) and k.startswith(_SEL) and v
    ]


def clear_selection() -> None:
    """Untick every review (call before the rows are drawn)."""
    for k in [k for k in st.session_state if isinstance(k, str) and k.startswith(_SEL)]:
        del st.session_state[k]


def _tick(ids: list[str]) -> None:
    for review_id in ids:
        st.session_state[_SEL + review_id] = True


def rows(queue: ReviewQueue, user: User) -> None:
    """One row per review of the page, with its tick box and an Open button.

    Args:
        queue: the page to show.
        user: the signed-in user.
    """
    if not queue.items:
        teams = ", ".join(user["teams"]) or "no team"
        st.info(
            f"No pending review matches these filters (your teams: {teams}). "
            "New ones appear here as runs reach a checkpoint."
        )
        return
    now = state.now()
    st.button(
        f"Tick all {len(queue.items)} on this page",
        key="rv_tick_page",
        on_click=_tick,
        args=([r["id"] for r in queue.items],),
    )
    badges = vote_badges(state.engine().store, queue.items)
    for r in queue.items:
        _row(r, user, now, badges.get(r["id"]))


def _row(r: dict[str, Any], user: User, now: Any, votes: str | None = None) -> None:
    with st.container(border=True):
        tick, what, team, holder, age, due, go = st.columns([0.4, 4.2, 1.3, 1.3, 0.9, 1.6, 0.9])
        tick.checkbox("Tick", key=_SEL + r["id"], label_visibility="collapsed")
        why = r["note"] or r["instructions"] or ""
        what.markdown(
            f"{PRIORITY_ICON.get(r['priority'], '')} **{r['workflow_id']}** · `{r['node_id']}` "
            f"({r['kind']}, {r['priority']})"
            + (f" · :blue-badge[{votes} approvals]" if votes else "")
            + "  \n"
            + (f":gray[{why[:140]}{'…' if len(why) > 140 else ''}]" if why else "")
        )
        team.markdown(f"**Team**  \n{r['team'] or '(none)'}")
        holder.markdown(f"**Assignee**  \n{holder_text(r, user)}")
        age.markdown(f"**Waiting**  \n{clock.age(r['created_at'], now)}")
        label, text, overdue = clock.due(r, now)
        due.markdown(
            f"**{label}**  \n" + (f":red[**:material/alarm: {text}**]" if overdue else text)
        )
        if go.button("Open", key=f"rv_open_{r['id']}"):
            state.open_review(r["id"])
            st.rerun()


def holder_text(review: dict[str, Any], user: User) -> str:
    """Who holds a review: ``you``, a user's name, or ``nobody``; a delegated one reads
    ``for mia, delegated to you``.

    This is where claim and release plug in: the assignee is the holder.

    Args:
        review: the review row.
        user: the signed-in user.

    Returns:
        The text.
    """
    if not review.get("assignee"):
        return "nobody"
    holder = "you" if review["assignee"] == user["name"] else review["assignee"]
    if review.get("delegated_from"):
        return f"for {review['delegated_from']}, delegated to {holder}"
    return holder


def pager(queue: ReviewQueue) -> None:
    """Previous / next page and where this page sits in the total.

    Args:
        queue: the page shown.
    """
    if queue.total <= queue.limit:
        st.caption(f"{queue.total} review(s).")
        return
    page, last = queue.offset // queue.limit, (queue.total - 1) // queue.limit
    left, mid, right = st.columns([1, 4, 1])
    if left.button("← Previous", key="rv_prev", disabled=page == 0):
        st.session_state[_PAGE] = page - 1
        st.rerun()
    mid.caption(
        f"Reviews {queue.offset + 1} to {queue.offset + len(queue.items)} of {queue.total} "
        f"(page {page + 1} of {last + 1})"
    )
    if right.button("Next →", key="rv_next", disabled=page >= last):
        st.session_state[_PAGE] = page + 1
        st.rerun()
