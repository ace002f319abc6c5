"""The dashboard's aggregates written for SQLite (Python's sqlite3), the same results as
``runtime/store/duckdb/analytics.py`` for a time window (the benchmark's filter).

SQLite has no percentile function, so the two quantiles of time to decision are read with
``ORDER BY ... LIMIT 2 OFFSET k`` and interpolated (what a SQLite-backed peer does); times
are ISO text and compared as text; ``julianday`` gives seconds.
"""

from __future__ import annotations

import math
import sqlite3
from datetime import datetime
from typing import Any

_APPROVE = "('approve', 'edit', 'accept')"
_REJECT = "('reject', 'revise')"
_PEOPLE = "r.status = 'decided' AND r.decided_by <> 'system'"
_SECONDS = "(julianday(r.decided_at) - julianday(r.created_at)) * 86400.0"
_CHANGED = (
    "SELECT review_id, max(path IS NOT NULL OR human_output IS NULL) AS changed "
    "FROM feedback WHERE created_at >= ? GROUP BY review_id"
)


def _t(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


class SqliteAnalytics:
    """The aggregates over a SQLite copy, for a window ``[since, until)``."""

    def __init__(self, path: str, since: datetime, until: datetime):
        self.con = sqlite3.connect(path)
        self.since, self.until = _t(since), _t(until)

    def _all(self, sql: str, params: list[Any]) -> list[tuple]:
        return self.con.execute(sql, params).fetchall()

    def decision_outcomes(self) -> list[tuple]:
        """Settled reviews per action, by_system, reason."""
        return self._all(
            "SELECT r.action, r.decided_by = 'system', r.reason, count(*) FROM reviews r "
            "WHERE r.status IN ('decided', 'expired') AND r.decided_at >= ? AND r.decided_at < ? "
            "GROUP BY 1, 2, 3",
            [self.since, self.until],
        )

    def decision_time_stats(self) -> dict[str, Any]:
        """n, p50, p95, mean seconds (quantiles interpolated like quantile_cont)."""
        base = f"FROM reviews r WHERE {_PEOPLE} AND r.decided_at >= ? AND r.decided_at < ?"
        params = [self.since, self.until]
        n, mean = self.con.execute(f"SELECT count(*), avg({_SECONDS}) {base}", params).fetchone()
        out: dict[str, Any] = {"n": n, "mean": mean}
        for name, q in (("p50", 0.5), ("p95", 0.95)):
            if not n:
                out[name] = None
                continue
            pos = q * (n - 1)
            lo = math.floor(pos)
            rows = self.con.execute(
                f"SELECT {_SECONDS} AS s {base} ORDER BY s LIMIT 2 OFFSET ?", [*params, lo]
            ).fetchall()
            a = rows[0][0]
            b = rows[1][0] if len(rows) > 1 else a
            out[name] = a + (b - a) * (pos - lo)
        return out

    def backlog_ages(self, edges: list[float]) -> list[tuple]:
        """Reviews pending at ``until`` per age bucket."""
        cases = " ".join(f"WHEN age < ? THEN {i}" for i in range(len(edges)))
        return self._all(
            f"SELECT CASE {cases} ELSE {len(edges)} END AS bucket, count(*), max(age) FROM "
            "(SELECT unixepoch(?) - unixepoch(r.created_at) AS age FROM reviews r "
            "WHERE r.created_at <= ? AND (r.decided_at IS NULL OR r.decided_at > ?)) "
            "GROUP BY bucket ORDER BY bucket",
            [*edges, self.until, self.until, self.until],
        )

    def automation_series(self) -> list[tuple]:
        """Runs finished per day: finished, automated."""
        window = "u.finished_at >= ? AND u.finished_at < ?"
        (start,) = self.con.execute(
            f"SELECT min(u.created_at) FROM runs u WHERE {window}", [self.since, self.until]
        ).fetchone()
        if start is None:
            return []
        return self._all(
            "SELECT date(u.finished_at) AS period, count(*), "
            "count(*) FILTER (WHERE h.run_id IS NULL) FROM runs u "
            "LEFT JOIN (SELECT DISTINCT run_id FROM reviews WHERE created_at >= ?) h "
            f"ON h.run_id = u.id WHERE {window} GROUP BY period ORDER BY period",
            [start, self.since, self.until],
        )

    def escalation_counts(self) -> list[tuple]:
        """Escalated reviews per team and source."""
        return self._all(
            "SELECT r.team, CASE WHEN r.kind = 'escalation' THEN 'rule' "
            "WHEN o.decided_by = 'system' THEN 'deadline' ELSE 'reviewer' END AS source, "
            "count(*) FROM reviews r LEFT JOIN reviews o ON o.id = r.escalated_from "
            "WHERE (r.escalated_from IS NOT NULL OR r.kind = 'escalation') "
            "AND r.created_at >= ? AND r.created_at < ? GROUP BY 1, 2",
            [self.since, self.until],
        )

    def reviewer_throughput(self) -> list[tuple]:
        """People's decisions per reviewer (median seconds computed in Python, as SQLite
        has no median)."""
        rows = self._all(
            f"SELECT r.decided_by, count(*), count(*) FILTER (WHERE r.action IN {_APPROVE}), "
            f"count(*) FILTER (WHERE r.action IN {_REJECT}), "
            "count(*) FILTER (WHERE r.action = 'edit'), "
            "count(*) FILTER (WHERE r.action = 'escalate'), "
            f"group_concat({_SECONDS}) FROM reviews r WHERE {_PEOPLE} "
            "AND r.decided_at >= ? AND r.decided_at < ? GROUP BY r.decided_by",
            [self.since, self.until],
        )
        out = []
        for *counts, secs in rows:
            values = sorted(float(s) for s in secs.split(","))
            mid = (len(values) - 1) / 2
            median = (values[math.floor(mid)] + values[math.ceil(mid)]) / 2
            out.append((*counts, median))
        return out

    def choice_counts(self) -> list[tuple]:
        """Options picked at choice checkpoints per workflow, node and option (the option
        as its JSON text: SQLite has no unnest of a JSON list)."""
        return self._all(
            "SELECT r.workflow_id, r.node_id, json_extract(e.data, '$.option'), count(*) "
            "FROM reviews r JOIN audit_events e ON e.review_id = r.id "
            "AND e.kind IN ('review.decided', 'review.expired') "
            "AND json_extract(e.data, '$.action') = 'choose' "
            "WHERE r.kind = 'choice' AND r.action = 'choose' "
            "AND r.decided_at >= ? AND r.decided_at < ? GROUP BY 1, 2, 3",
            [self.since, self.until],
        )

    def ai_judgments(self) -> tuple:
        """judged, overridden."""
        return self.con.execute(
            "SELECT count(*), count(*) FILTER (WHERE coalesce(f.changed, 0) "
            f"OR r.action IN {_REJECT}) FROM reviews r LEFT JOIN ({_CHANGED}) f "
            f"ON f.review_id = r.id WHERE {_PEOPLE} AND r.action <> 'escalate' "
            "AND (r.kind IN ('confidence_gate', 'feedback') OR f.review_id IS NOT NULL) "
            "AND r.decided_at >= ? AND r.decided_at < ?",
            [self.since, self.since, self.until],
        ).fetchone()

    def judged_confidences(self, workflow_id: str | None = None) -> list[tuple]:
        """Per milli and sampled: n, overridden, confidence sum."""
        extra, params = "", [self.since, self.until]
        if workflow_id:
            extra, params = " AND r.workflow_id = ?", [*params, workflow_id]
        return self._all(
            "SELECT min(1000, CAST(c * 1000 + 1e-9 AS INTEGER)) AS milli, sampled, count(*), "
            f"count(*) FILTER (WHERE coalesce(f.changed, 0) OR r.action IN {_REJECT}), sum(c) "
            "FROM (SELECT r.id, r.action, CAST(json_extract(r.display, '$.confidence') AS REAL) "
            "AS c, coalesce(json_extract(r.display, '$.sampled'), 0) AS sampled FROM reviews r "
            f"WHERE {_PEOPLE} AND r.action <> 'escalate' AND r.kind = 'confidence_gate' "
            f"AND r.created_at >= ? AND r.created_at < ?{extra}) r "
            f"LEFT JOIN ({_CHANGED}) f ON f.review_id = r.id WHERE c IS NOT NULL "
            "GROUP BY 1, 2",
            [*params, self.since],
        )

    def gate_passes(self, workflow_id: str, node_id: str) -> list[tuple]:
        """Unreviewed passes of a gate per milli."""
        return self._all(
            "SELECT min(1000, CAST(c * 1000 + 1e-9 AS INTEGER)) AS milli, count(*) FROM "
            "(SELECT e.run_id, CAST(json_extract(e.data, '$.output.confidence') AS REAL) AS c "
            "FROM audit_events e WHERE e.kind = 'step' AND e.node_id = ? "
            "AND json_extract(e.data, '$.branch') = 'pass' "
            "AND json_extract(e.data, '$.output.action') IS NULL "
            "AND e.occurred_at >= ? AND e.occurred_at < ?) p "
            "JOIN runs u ON u.id = p.run_id WHERE c IS NOT NULL AND u.workflow_id = ? "
            "GROUP BY milli",
            [node_id, self.since, self.until, workflow_id],
        )

    def dimensions(self) -> tuple[int, int, int, int]:
        """Distinct workflows, nodes, teams, reviewers (what the filters offer)."""
        return (
            len(self._all("SELECT DISTINCT workflow_id, workflow_version FROM runs", [])),
            len(self._all("SELECT DISTINCT workflow_id, node_id, kind FROM reviews", [])),
            len(self._all("SELECT DISTINCT team FROM reviews WHERE team IS NOT NULL", [])),
            len(
                self._all(
                    "SELECT DISTINCT decided_by FROM reviews WHERE status = 'decided' "
                    "AND decided_by <> 'system'",
                    [],
                )
            ),
        )
