"""The DuckDB schema as an append-only list of migrations, and their runner (never edit one)."""

from __future__ import annotations

import duckdb

from runtime.errors import StoreError
from runtime.store.duckdb.rows import utcnow

MIGRATIONS: list[tuple[str, str]] = [
    (
        "initial schema",
        """
        CREATE TABLE workflows (
            id VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            name VARCHAR NOT NULL,
            digest VARCHAR NOT NULL,
            spec JSON NOT NULL,
            status VARCHAR NOT NULL,
            message VARCHAR,
            created_by VARCHAR,
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (id, version)
        );
        CREATE TABLE runs (
            id VARCHAR PRIMARY KEY,
            workflow_id VARCHAR NOT NULL,
            workflow_version INTEGER NOT NULL,
            status VARCHAR NOT NULL,
            current_node VARCHAR,
            item JSON NOT NULL,
            state JSON NOT NULL,
            step_count INTEGER NOT NULL,
            error VARCHAR,
            result VARCHAR,
            batch_id VARCHAR,
            idempotency_key VARCHAR,
            started_by VARCHAR,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP
        );
        CREATE TABLE reviews (
            id VARCHAR PRIMARY KEY,
            run_id VARCHAR NOT NULL,
            workflow_id VARCHAR NOT NULL,
            workflow_version INTEGER NOT NULL,
            node_id VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            team VARCHAR,
            assignee VARCHAR,
            priority VARCHAR NOT NULL,
            instructions VARCHAR,
            note VARCHAR,
            reason_codes VARCHAR[],
            actions VARCHAR[],
            form JSON,
            display JSON,
            context JSON,
            visits INTEGER NOT NULL,
            deadline TIMESTAMP,
            on_timeout VARCHAR,
            escalate_to VARCHAR,
            escalated_from VARCHAR,
            created_at TIMESTAMP NOT NULL,
            decided_at TIMESTAMP,
            decided_by VARCHAR,
            action VARCHAR,
            data JSON,
            reason VARCHAR,
            decision_note VARCHAR,
            rating INTEGER
        );
        CREATE TABLE audit_events (
            seq BIGINT NOT NULL,
            occurred_at TIMESTAMP NOT NULL,
            kind VARCHAR NOT NULL,
            run_id VARCHAR,
            review_id VARCHAR,
            node_id VARCHAR,
            actor VARCHAR,
            data JSON,
            prev_hash BLOB NOT NULL,
            hash BLOB NOT NULL
        );
        CREATE TABLE feedback (
            id VARCHAR NOT NULL,
            run_id VARCHAR NOT NULL,
            review_id VARCHAR,
            workflow_id VARCHAR NOT NULL,
            checkpoint_id VARCHAR NOT NULL,
            node_id VARCHAR,
            path VARCHAR,
            input JSON,
            ai_output JSON,
            human_output JSON,
            reviewer VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            reason VARCHAR,
            note VARCHAR,
            rating INTEGER,
            model VARCHAR,
            model_version VARCHAR,
            created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE records (
            table_name VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            value JSON,
            deleted BOOLEAN NOT NULL DEFAULT false,
            run_id VARCHAR,
            node_id VARCHAR,
            idempotency_key VARCHAR,
            updated_at TIMESTAMP NOT NULL
        );
        CREATE VIEW current_records AS
            SELECT table_name, key, value, run_id, node_id, updated_at FROM (
                SELECT *, row_number() OVER (
                    PARTITION BY table_name, key ORDER BY updated_at DESC) AS rn
                FROM records
            ) WHERE rn = 1 AND NOT deleted;
        CREATE TABLE outbox (
            id VARCHAR PRIMARY KEY,
            run_id VARCHAR,
            node_id VARCHAR,
            channel VARCHAR NOT NULL,
            recipient VARCHAR,
            subject VARCHAR,
            body VARCHAR,
            status VARCHAR NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error VARCHAR,
            idempotency_key VARCHAR,
            created_at TIMESTAMP NOT NULL,
            sent_at TIMESTAMP
        );
        CREATE TABLE users (
            name VARCHAR PRIMARY KEY,
            display_name VARCHAR,
            password_hash VARCHAR,
            roles VARCHAR[] NOT NULL,
            teams VARCHAR[] NOT NULL,
            token_hash VARCHAR,
            disabled BOOLEAN NOT NULL DEFAULT false,
            created_at TIMESTAMP NOT NULL
        );
        CREATE VIEW steps AS
            SELECT run_id, seq, occurred_at, node_id,
                   data->>'type' AS node_type,
                   data->>'branch' AS branch,
                   CAST(data->>'step' AS INTEGER) AS step,
                   data->'output' AS output
            FROM audit_events WHERE kind IN ('step', 'audit');
        CREATE VIEW decisions AS
            SELECT id AS review_id, run_id, workflow_id, workflow_version, node_id, kind, team,
                   priority, action, decided_by, decided_at, data, reason,
                   decision_note AS note, rating, created_at AS requested_at,
                   date_diff('millisecond', created_at, decided_at) / 1000.0
                       AS seconds_to_decision
            FROM reviews WHERE decided_at IS NOT NULL;
        """,
    ),
    (
        "outbox retry schedule",
        """
        ALTER TABLE outbox ADD COLUMN next_attempt_at TIMESTAMP;
        """,
    ),
    (
        "models: the builtin provider's trained classifiers, one row per version",
        """
        CREATE TABLE models (
            name VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            provider VARCHAR NOT NULL,
            labels VARCHAR[],
            metrics JSON,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR,
            source VARCHAR NOT NULL,
            blob BLOB NOT NULL,
            training JSON,
            PRIMARY KEY (name, version)
        );
        """,
    ),
    (
        "decision journal: a decision is durable with one write; runs resume from it",
        """
        CREATE TABLE decision_journal (
            seq BIGINT NOT NULL,
            review_id VARCHAR NOT NULL,
            decided_by VARCHAR NOT NULL,
            decided_at TIMESTAMP NOT NULL,
            decision JSON NOT NULL
        );
        """,
    ),
    (
        "audit seal: the chain's head signed with a key kept outside the database",
        """
        CREATE TABLE audit_seal (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq BIGINT NOT NULL,
            hash BLOB NOT NULL,
            row_count BIGINT NOT NULL,
            first_seq BIGINT NOT NULL,
            note VARCHAR,
            key_id VARCHAR NOT NULL,
            sealed_at TIMESTAMP NOT NULL,
            mac BLOB NOT NULL
        );
        """,
    ),
    (
        "choice checkpoints: the options a person picks from, one per branch",
        """
        ALTER TABLE reviews ADD COLUMN options VARCHAR[];
        """,
    ),
    (
        "forks: the run's data at each checkpoint, and where each forked run came from",
        """
        CREATE TABLE checkpoint_states (
            review_id VARCHAR NOT NULL,
            run_id VARCHAR NOT NULL,
            node_id VARCHAR NOT NULL,
            item JSON NOT NULL,
            state JSON NOT NULL,
            step_count INTEGER NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE run_forks (
            run_id VARCHAR PRIMARY KEY,
            forked_from VARCHAR NOT NULL,
            node_id VARCHAR NOT NULL,
            review_id VARCHAR NOT NULL,
            original JSON,
            decision JSON NOT NULL,
            forked_by VARCHAR NOT NULL,
            forked_at TIMESTAMP NOT NULL
        );
        """,
    ),
    (
        "escalation chains, SLAs and delegation: the step a review reached and when the "
        "next is due, its SLA due time, whose it was before a delegation; delegations",
        """
        ALTER TABLE reviews ADD COLUMN escalation_step INTEGER DEFAULT 0;
        ALTER TABLE reviews ADD COLUMN next_step_at TIMESTAMP;
        ALTER TABLE reviews ADD COLUMN due_at TIMESTAMP;
        ALTER TABLE reviews ADD COLUMN delegated_from VARCHAR;
        CREATE TABLE delegations (
            user_name VARCHAR PRIMARY KEY,
            delegate VARCHAR NOT NULL,
            starts_at TIMESTAMP NOT NULL,
            ends_at TIMESTAMP NOT NULL,
            note VARCHAR,
            set_by VARCHAR NOT NULL,
            set_at TIMESTAMP NOT NULL
        );
        """,
    ),
    (
        "models: which version is the default (promoted_at; newest promotion wins)",
        """
        CREATE TABLE model_promotions (
            name VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            promoted_at TIMESTAMP NOT NULL,
            promoted_by VARCHAR,
            reason VARCHAR
        );
        """,
    ),
    (
        "review votes: one row per person's vote on a multi-approver (quorum) review",
        """
        CREATE TABLE review_votes (
            review_id VARCHAR NOT NULL,
            voter VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            step INTEGER NOT NULL DEFAULT 0,
            note VARCHAR,
            reason VARCHAR,
            voted_at TIMESTAMP NOT NULL,
            PRIMARY KEY (review_id, voter)
        );
        """,
    ),
]


def migrate(cur: duckdb.DuckDBPyConnection, path: str) -> None:
    """Bring a file's schema up to date: each migration not yet run, in a transaction of
    its own, recorded in ``schema_version``.

    Args:
        cur: a cursor of the file's connection (the caller holds its write lock).
        path: the file, for messages.

    Raises:
        StoreError: the file's schema is newer than this Loopgate knows.
    """
    cur.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)"
    )
    current = cur.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
    if current > len(MIGRATIONS):
        raise StoreError(
            f"{path} has schema version {current}, newer than this Loopgate "
            f"({len(MIGRATIONS)}); upgrade Loopgate"
        )
    for version, (description, sql) in enumerate(MIGRATIONS, start=1):
        if version <= current:
            continue
        cur.execute("BEGIN")
        try:
            for statement in sql.split(";"):
                if statement.strip():
                    cur.execute(statement)
            cur.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)", [version, description, utcnow()]
            )
            cur.execute("COMMIT")
        except Exception:
            cur.execute("ROLLBACK")
            raise
