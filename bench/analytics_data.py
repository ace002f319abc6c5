"""The analytics benchmark's data: a Loopgate DuckDB file filled by bulk SQL inserts, and the
same rows copied into SQLite.

Every random figure is a hash of (row number, column, seed), so a seed gives the same data
on every run and every thread count. Shape (N decisions):

* 8 workflows (``wf-0`` has confidence gate ``gate`` at 0.8 with a 10 % audit sample;
  ``wf-7`` an escalation checkpoint; the rest approvals), 3 versions, 6 teams, 40 reviewers;
  created over 180 days up to ``END``.
* N settled reviews (6 % by the deadline: timeout, escalation, default reject/approve) and
  N/50 pending; every 37th review escalated from the one before; gate reviews carry their
  confidence, agreement rising with it; one feedback row per person's gate decision.
* One run per review, plus N/4 runs with no review (``wf-0``'s passed the gate: a step
  event with the confidence).
* The audit trail padded to the requested size with step, request and decision events.

Rows go in in time order, as a store appends them (the audit trail's ``seq`` follows its
``occurred_at``), so DuckDB's per-block min/max skip what lies outside a window.

The audit rows carry a placeholder hash: this file is for timing reads, not for
``loopgate audit verify``.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from pathlib import Path

import duckdb

END = datetime(2026, 6, 30)
WORKFLOWS = 8
TEAMS = ["support", "finance", "risk", "sales", "legal", "security"]
REASONS = ["wrong_label", "spam", "duplicate", "too_high", "missing_info"]

GATE_SPEC = {
    "id": "wf-0",
    "name": "Ticket triage (benchmark)",
    "nodes": [
        {"id": "start", "type": "trigger"},
        {"id": "ai", "type": "set", "params": {"values": {"label": "a", "confidence": 0.5}}},
        {
            "id": "gate",
            "type": "confidence_gate",
            "params": {
                "of": "ai",
                "threshold": 0.8,
                "sample_rate": 0.1,
                "editable": ["ai.label"],
                "reason_codes": REASONS,
                "team": "support",
            },
        },
        {"id": "ok", "type": "end", "params": {"result": "ok"}},
        {"id": "no", "type": "end", "params": {"result": "no"}},
    ],
    "edges": [
        {"from": "start", "to": "ai"},
        {"from": "ai", "to": "gate"},
        {"from": "gate", "to": "ok", "branch": "pass"},
        {"from": "gate", "to": "no", "branch": "rejected"},
    ],
}


def _macros(con: duckdb.DuckDBPyConnection, seed: int, end: datetime) -> None:
    con.execute(
        f"CREATE OR REPLACE TEMP MACRO u(i, k) AS (hash(i, k, {int(seed)}) % 1000003) / 1000003.0"
    )
    con.execute(
        "CREATE OR REPLACE TEMP MACRO at_end(s) AS "
        f"TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}' - to_seconds(s::BIGINT)"
    )


REVIEWS_SQL = """
CREATE TEMP TABLE g AS
SELECT i, i % {W} AS w, i >= {N} AS pending, u(i, 4) < 0.06 AND i < {N} AS sys,
       u(i, 5) AS a, u(i, 7) < 0.1 AS sampled,
       CASE WHEN u(i, 7) < 0.1 THEN 0.8 + 0.2 * u(i, 6) ELSE 0.3 + 0.5 * u(i, 6) END AS c,
       CASE WHEN i >= {N} THEN at_end(u(i, 10) * 5 * 86400)
            ELSE at_end(u(i, 10) * 180 * 86400 + 3 * 86400) END AS created,
       (20 - ln(1 - u(i, 11) * 0.999) * 1800)::BIGINT AS secs
FROM range({TOTAL}) t(i);
CREATE TEMP TABLE d AS
SELECT *, CASE
    WHEN pending THEN NULL
    WHEN sys THEN CASE WHEN a < 0.4 THEN 'timeout' WHEN a < 0.6 THEN 'escalate'
                       WHEN a < 0.8 THEN 'reject' ELSE 'approve' END
    WHEN w = 0 THEN CASE WHEN a < 0.03 THEN 'escalate'
                         WHEN u(i, 8) < (1 - c) * 0.8 THEN
                              CASE WHEN u(i, 9) < 0.6 THEN 'reject' ELSE 'edit' END
                         ELSE 'approve' END
    ELSE CASE WHEN a < 0.62 THEN 'approve' WHEN a < 0.72 THEN 'edit'
              WHEN a < 0.95 THEN 'reject' ELSE 'escalate' END
  END AS action FROM g;
INSERT INTO reviews (id, run_id, workflow_id, workflow_version, node_id, kind, status, team,
  assignee, priority, instructions, note, reason_codes, actions, form, display, context,
  visits, deadline, on_timeout, escalate_to, escalated_from, created_at, decided_at,
  decided_by, action, data, reason, decision_note, rating) SELECT
  'rev_' || i, 'run_' || i, 'wf-' || w, (1 + hash(i, 3) % 3)::INTEGER,
  CASE w WHEN 0 THEN 'gate' WHEN {W1} THEN 'escalate' ELSE 'check' END,
  CASE w WHEN 0 THEN 'confidence_gate' WHEN {W1} THEN 'escalation' ELSE 'approval' END,
  CASE WHEN pending THEN 'pending' WHEN sys AND action IN ('timeout', 'escalate') THEN 'expired'
       ELSE 'decided' END,
  {TEAMS}[1 + w % 6], NULL, 'normal', NULL, NULL, NULL, NULL, NULL,
  CASE WHEN w = 0 THEN json_object('confidence', round(c, 4), 'sampled', sampled,
                                   'threshold', 0.8, 'confident', sampled) END,
  NULL, 1, created + INTERVAL 4 HOUR, 'reject', NULL,
  CASE WHEN i % 37 = 0 AND i > 0 THEN 'rev_' || (i - 1) END,
  created,
  CASE WHEN pending THEN NULL WHEN sys THEN created + INTERVAL 4 HOUR
       ELSE created + to_seconds(secs) END,
  CASE WHEN pending THEN NULL WHEN sys THEN 'system'
       ELSE 'user-' || (hash(i, 12) % 40)::VARCHAR END,
  action,
  CASE WHEN action = 'edit' THEN '{{"ai.label": "b"}}' END,
  CASE WHEN action = 'reject' AND sys THEN 'deadline'
       WHEN action = 'reject' THEN {REASONS}[(1 + hash(i, 13) % 5)::BIGINT] END,
  NULL, NULL
FROM d ORDER BY created, i;
INSERT INTO feedback (id, run_id, review_id, workflow_id, checkpoint_id, node_id, path, input,
  ai_output, human_output, reviewer, action, reason, note, rating, model, model_version,
  created_at) SELECT
  'fb_' || i, 'run_' || i, 'rev_' || i, 'wf-0', 'gate', 'ai',
  CASE WHEN action = 'edit' THEN 'ai.label' END, '{{}}', '{{"label": "a"}}',
  CASE action WHEN 'reject' THEN NULL WHEN 'edit' THEN '"b"' ELSE '{{"label": "a"}}' END,
  'user-' || (hash(i, 12) % 40)::VARCHAR, action, NULL, NULL, NULL, 'bench', '1',
  created + to_seconds(secs)
FROM d WHERE w = 0 AND NOT pending AND NOT sys AND action <> 'escalate'
ORDER BY created + to_seconds(secs), i;
INSERT INTO runs (id, workflow_id, workflow_version, status, current_node, item, state,
  step_count, error, result, batch_id, idempotency_key, started_by, created_at, updated_at,
  finished_at) SELECT
  'run_' || i, 'wf-' || w, (1 + hash(i, 3) % 3)::INTEGER,
  CASE WHEN pending OR action = 'escalate' THEN 'waiting' ELSE 'succeeded' END,
  NULL, '{{}}', '{{}}', 4, NULL, NULL, NULL, NULL, 'ops', created, created,
  CASE WHEN pending OR action = 'escalate' THEN NULL
       WHEN sys THEN created + INTERVAL 4 HOUR ELSE created + to_seconds(secs + 1) END
FROM d ORDER BY created, i;
INSERT INTO runs (id, workflow_id, workflow_version, status, current_node, item, state,
  step_count, error, result, batch_id, idempotency_key, started_by, created_at, updated_at,
  finished_at) SELECT
  'run_a' || j, 'wf-' || (j % {W}), (1 + hash(j, 14) % 3)::INTEGER, 'succeeded', NULL,
  '{{}}', '{{}}', 3, NULL, 'ok', NULL, NULL, 'ops', at_end(u(j, 15) * 180 * 86400),
  at_end(u(j, 15) * 180 * 86400), at_end(u(j, 15) * 180 * 86400) + INTERVAL 1 SECOND
FROM range({AUTO}) t(j) ORDER BY at_end(u(j, 15) * 180 * 86400), j;
"""

EVENTS_SQL = """
INSERT INTO audit_events (seq, occurred_at, kind, run_id, review_id, node_id, actor, data,
  prev_hash, hash) SELECT
  {S0} + row_number() OVER (ORDER BY t, kind, run_id), t, kind, run_id, review_id, node_id,
  actor, data, {ZERO}, {ZERO}
FROM (
  SELECT at_end(u(j, 15) * 180 * 86400) AS t, 'step' AS kind, 'run_a' || j AS run_id,
    NULL AS review_id, 'gate' AS node_id, NULL AS actor,
    json_object('type', 'confidence_gate', 'branch', 'pass', 'step', 3, 'output',
                json_object('confident', true, 'sampled', false,
                            'confidence', round(0.8 + 0.2 * u(j, 16), 4)))::VARCHAR AS data
  FROM range({AUTO}) t(j) WHERE j % {W} = 0
  UNION ALL
  SELECT at_end(u(k, 17) * 180 * 86400),
    ['run.started', 'step', 'step', 'review.requested', 'review.decided', 'step',
     'run.succeeded'][(1 + k % 7)::BIGINT],
    'run_' || (k // 7 % {TOTAL}),
    CASE WHEN k % 7 IN (3, 4) THEN 'rev_' || (k // 7 % {TOTAL}) END,
    CASE WHEN k % 7 = 0 THEN NULL WHEN k % 7 = 1 THEN 'start' WHEN k % 7 = 2 THEN 'ai'
         WHEN (k // 7) % {W} = 0 THEN 'gate' ELSE 'check' END,
    CASE WHEN k % 7 = 4 THEN 'user-' || (k % 40)::VARCHAR END,
    CASE WHEN k % 7 = 5 THEN '{{"type": "confidence_gate", "branch": "pass", "step": 3, '
                           || '"output": {{"action": "approve", "confidence": 0.7}}}}'
         WHEN k % 7 IN (1, 2) THEN '{{"type": "set", "branch": "next", "step": 2, '
                           || '"output": {{"label": "a", "confidence": 0.62}}}}'
         ELSE '{{"workflow": "wf", "version": 1}}' END
  FROM range({REST}) t(k)
)
ORDER BY t, kind, run_id;
"""


def generate(
    path: Path, *, decisions: int, events: int, seed: int = 7, end: datetime = END
) -> dict[str, float]:
    """Create a Loopgate file at ``path`` and fill it (see the module docstring), the data
    ending at ``end``.

    Returns:
        Seconds per phase.
    """
    from runtime.store import Store

    timings: dict[str, float] = {}
    t = time.perf_counter()
    store = Store(path)
    store.save_workflow(
        GATE_SPEC,
        digest="bench",
        name=GATE_SPEC["name"],
        status="published",
        by="bench",
        message=None,
    )
    store.close()
    con = duckdb.connect(str(path))
    _macros(con, seed, end)
    pending = decisions // 50
    total = decisions + pending
    auto = decisions // 4
    fill = {
        "W": WORKFLOWS,
        "W1": WORKFLOWS - 1,
        "N": decisions,
        "TOTAL": total,
        "AUTO": auto,
        "TEAMS": repr(TEAMS),
        "REASONS": repr(REASONS),
        "ZERO": "'\\x00'::BLOB",
    }
    con.execute("BEGIN")
    for statement in REVIEWS_SQL.format(**fill).split(";"):
        if statement.strip():
            con.execute(statement)
    con.execute("COMMIT")
    timings["reviews, runs, feedback"] = time.perf_counter() - t
    t = time.perf_counter()
    passes = len(range(0, auto, WORKFLOWS))
    start = con.execute("SELECT coalesce(max(seq), 0) FROM audit_events").fetchone()[0]
    fill |= {"S0": start, "REST": max(0, events - passes - start)}
    con.execute("BEGIN")
    for statement in EVENTS_SQL.format(**fill).split(";"):
        if statement.strip():
            con.execute(statement)
    con.execute("COMMIT")
    con.execute("CHECKPOINT")
    con.close()
    timings["audit events"] = time.perf_counter() - t
    return timings


SQLITE_SCHEMA = """
CREATE TABLE reviews (id TEXT PRIMARY KEY, run_id TEXT, workflow_id TEXT,
  workflow_version INTEGER, node_id TEXT, kind TEXT, status TEXT, team TEXT, assignee TEXT,
  display TEXT, escalated_from TEXT, created_at TEXT, decided_at TEXT, decided_by TEXT,
  action TEXT, reason TEXT);
CREATE TABLE runs (id TEXT PRIMARY KEY, workflow_id TEXT, workflow_version INTEGER,
  status TEXT, created_at TEXT, finished_at TEXT);
CREATE TABLE feedback (id TEXT, review_id TEXT, path TEXT, human_output TEXT,
  created_at TEXT);
CREATE TABLE audit_events (seq INTEGER PRIMARY KEY, occurred_at TEXT, kind TEXT,
  run_id TEXT, review_id TEXT, node_id TEXT, actor TEXT, data TEXT);
CREATE INDEX reviews_decided ON reviews (decided_at);
CREATE INDEX reviews_created ON reviews (created_at);
CREATE INDEX reviews_status ON reviews (status);
CREATE INDEX reviews_escalated ON reviews (escalated_from);
CREATE INDEX runs_finished ON runs (finished_at);
CREATE INDEX feedback_review ON feedback (review_id);
CREATE INDEX feedback_created ON feedback (created_at);
CREATE INDEX audit_time ON audit_events (occurred_at);
CREATE INDEX audit_node ON audit_events (node_id, kind);
"""

_COPIES = {
    "reviews": "SELECT id, run_id, workflow_id, workflow_version, node_id, kind, status, team, "
    "assignee, display::VARCHAR, escalated_from, strftime(created_at, '%Y-%m-%d %H:%M:%S'), "
    "strftime(decided_at, '%Y-%m-%d %H:%M:%S'), decided_by, action, reason FROM reviews",
    "runs": "SELECT id, workflow_id, workflow_version, status, "
    "strftime(created_at, '%Y-%m-%d %H:%M:%S'), "
    "strftime(finished_at, '%Y-%m-%d %H:%M:%S') FROM runs",
    "feedback": "SELECT id, review_id, path, human_output::VARCHAR, "
    "strftime(created_at, '%Y-%m-%d %H:%M:%S') FROM feedback",
    "audit_events": "SELECT seq, strftime(occurred_at, '%Y-%m-%d %H:%M:%S'), kind, run_id, "
    "review_id, node_id, actor, data::VARCHAR FROM audit_events",
}


def copy_to_sqlite(duck_path: Path, sqlite_path: Path, chunk: int = 200_000) -> float:
    """Copy the rows the dashboard reads into a SQLite file, with the indexes a SQLite
    store would have (times as ISO text, JSON as text). Returns seconds."""
    t = time.perf_counter()
    sqlite_path.unlink(missing_ok=True)
    lite = sqlite3.connect(sqlite_path)
    lite.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;")
    lite.executescript(SQLITE_SCHEMA)
    duck = duckdb.connect(str(duck_path), read_only=True)
    for table, select in _COPIES.items():
        cur = duck.execute(select)
        width = len(cur.description)
        insert = f"INSERT INTO {table} VALUES ({', '.join('?' * width)})"
        while rows := cur.fetchmany(chunk):
            lite.executemany(insert, rows)
        lite.commit()
    duck.close()
    lite.execute("ANALYZE")
    lite.close()
    return time.perf_counter() - t
