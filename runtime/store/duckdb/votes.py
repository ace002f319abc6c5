"""The votes of multi-approver reviews in a DuckDB store (all of their SQL)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import duckdb


def insert_vote(
    cur: duckdb.DuckDBPyConnection,
    review_id: str,
    *,
    voter: str,
    action: str,
    at: datetime,
    step: int = 0,
    note: str | None = None,
    reason: str | None = None,
) -> bool:
    """Insert one vote in the open transaction ``cur``; False if the voter has one already."""
    row = cur.execute(
        "INSERT INTO review_votes (review_id, voter, action, step, note, reason, voted_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING voter",
        [review_id, voter, action, step, note, reason, at],
    ).fetchone()
    return row is not None


def route(
    cur: duckdb.DuckDBPyConnection, review_id: str, team: str | None, assignee: str | None
) -> bool:
    """Set a pending review's team and assignee in ``cur``; True if it changed."""
    row = cur.execute(
        "UPDATE reviews SET team = ?, assignee = ? WHERE id = ? AND status = 'pending' "
        "AND (team IS DISTINCT FROM ? OR assignee IS DISTINCT FROM ?) RETURNING id",
        [team, assignee, review_id, team, assignee],
    ).fetchone()
    return row is not None


class DuckDBVoteReads:
    """Reads the votes (``runtime.store.votes_contract.VoteReads``); a part of
    :class:`~runtime.store.duckdb.store.DuckDBStore`, on its connection's ``_rows``."""

    _rows: Callable[[str, Sequence[Any]], list[dict[str, Any]]]

    def review_votes(self, review_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The votes on these reviews, oldest first, per review id."""
        out: dict[str, list[dict[str, Any]]] = {}
        if not review_ids:
            return out
        rows = self._rows(
            "SELECT review_id, voter, action, step, note, reason, voted_at FROM review_votes "
            "WHERE list_contains(?, review_id) ORDER BY voted_at, voter",
            [list(dict.fromkeys(review_ids))],
        )
        for row in rows:
            out.setdefault(row["review_id"], []).append(row)
        return out
