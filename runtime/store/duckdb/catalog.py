"""The catalog of a DuckDB store: workflow versions, users, trained models and records."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import duckdb

from runtime.domain import Event, WriteBatch
from runtime.errors import NotFoundError, StoreError
from runtime.store.duckdb.rows import dumps, utcnow
from runtime.store.duckdb.unit_of_work import DuckDBWrites

_USER_FIELDS = {"display_name", "password_hash", "roles", "teams", "token_hash", "disabled"}
_SECRET_FIELDS = ("password_hash", "token_hash")


class DuckDBCatalog(DuckDBWrites):
    """Workflows, users, models and records (``runtime.store.contract.Catalog``)."""

    # ------------------------------------------------------------ workflows

    def save_workflow(
        self,
        spec_dict: dict[str, Any],
        *,
        digest: str,
        name: str,
        status: str,
        by: str | None,
        message: str | None,
    ) -> tuple[int, bool]:
        """Store a workflow version unless the newest one has the same content and status.

        Args:
            spec_dict: the workflow as a dict (its ``id`` names it).
            digest: a digest of its content.
            name: its display name.
            status: ``draft`` or ``published``.
            by: who saved it.
            message: a note on the change.

        Returns:
            (version, created): the version number and whether a new row was written.
        """
        wid = spec_dict["id"]
        with self.transaction() as cur:
            row = cur.execute(
                "SELECT version, digest, status FROM workflows WHERE id = ? "
                "ORDER BY version DESC LIMIT 1",
                [wid],
            ).fetchone()
            if row and row[1] == digest and row[2] == status:
                return row[0], False
            version = (row[0] if row else 0) + 1
            now = utcnow()
            cur.execute(
                "INSERT INTO workflows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [wid, version, name, digest, dumps(spec_dict), status, message, by, now],
            )
            data = {"workflow": wid, "version": version, "status": status, "message": message}
            event = Event(kind="workflow.saved", actor=by, at=now, data=data)
            self.write(cur, WriteBatch(events=[event]))
        return version, True

    def get_workflow(
        self, workflow_id: str, version: int | None = None, *, published: bool = False
    ) -> dict[str, Any]:
        """A stored workflow version (the newest when version is None).

        Args:
            workflow_id: the workflow.
            version: one version, or None for the newest.
            published: with version None, the newest published version (drafts skipped).

        Raises:
            NotFoundError: no such workflow or version.
        """
        if version is None:
            status = " AND status = 'published'" if published else ""
            rows = self._rows(
                f"SELECT * FROM workflows WHERE id = ?{status} ORDER BY version DESC LIMIT 1",
                [workflow_id],
            )
            if (
                not rows
                and published
                and self._rows("SELECT 1 FROM workflows WHERE id = ? LIMIT 1", [workflow_id])
            ):
                raise NotFoundError(
                    f"workflow {workflow_id} has no published version yet; fix its problems and "
                    "save it in the Builder, or `loopgate workflows save FILE.yaml`"
                )
        else:
            rows = self._rows(
                "SELECT * FROM workflows WHERE id = ? AND version = ?", [workflow_id, version]
            )
        if not rows:
            what = f"workflow {workflow_id}" + (f" version {version}" if version else "")
            raise NotFoundError(
                f"{what} is not in {self.path}; list them with `loopgate workflows`"
            )
        return rows[0]

    def list_workflows(self) -> list[dict[str, Any]]:
        """The newest version of every workflow, with its version count."""
        return self._rows(
            "SELECT id, name, version, status, created_at, created_by, message, versions FROM ("
            " SELECT *, count(*) OVER (PARTITION BY id) AS versions,"
            " row_number() OVER (PARTITION BY id ORDER BY version DESC) AS rn FROM workflows"
            ") WHERE rn = 1 ORDER BY id"
        )

    def list_workflow_versions(self, workflow_id: str) -> list[dict[str, Any]]:
        """Every version of one workflow, newest first (without the spec)."""
        return self._rows(
            "SELECT id, version, name, status, message, created_by, created_at, digest "
            "FROM workflows WHERE id = ? ORDER BY version DESC",
            [workflow_id],
        )

    # ------------------------------------------------------------ records

    def get_record(self, table: str, key: str) -> dict[str, Any] | None:
        """A live record of the built-in record store, or None."""
        rows = self._rows(
            "SELECT * FROM records WHERE table_name = ? AND key = ? "
            "ORDER BY updated_at DESC LIMIT 1",
            [table, key],
        )
        return rows[0] if rows and not rows[0]["deleted"] else None

    # ------------------------------------------------------------ users

    def create_user(
        self,
        name: str,
        *,
        password_hash: str | None,
        roles: list[str],
        teams: list[str],
        display_name: str | None = None,
        by: str | None = None,
    ) -> None:
        """Add a user, audited.

        Raises:
            StoreError: the name is taken.
        """
        with self.transaction() as cur:
            exists = cur.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone()
            if exists:
                raise StoreError(f"user {name} already exists")
            now = utcnow()
            cur.execute(
                "INSERT INTO users (name, display_name, password_hash, roles, teams, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [name, display_name, password_hash, roles, teams, now],
            )
            data = {"user": name, "roles": roles, "teams": teams}
            self.write(cur, WriteBatch(events=[Event("user.created", actor=by, at=now, data=data)]))

    def update_user(self, name: str, *, by: str | None = None, **fields: Any) -> None:
        """Change a user's fields, audited (secrets are left out of the event).

        Args:
            name: the user.
            by: who changed them (the event's actor).
            **fields: any of display_name, password_hash, roles, teams, token_hash,
                disabled.

        Raises:
            ValueError: an unknown field.
            NotFoundError: there is no such user.
        """
        bad = set(fields) - _USER_FIELDS
        if bad:
            raise ValueError(f"cannot update {bad}")
        if not fields:
            return
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.transaction() as cur:
            row = cur.execute(
                f"UPDATE users SET {sets} WHERE name = ? RETURNING name", [*fields.values(), name]
            ).fetchone()
            if row is None:
                raise NotFoundError(f"user {name} does not exist")
            safe = {k: v for k, v in fields.items() if k not in _SECRET_FIELDS}
            data = {"user": name, "changed": sorted(fields), **safe}
            event = Event("user.updated", actor=by, at=utcnow(), data=data)
            self.write(cur, WriteBatch(events=[event]))

    def get_user(self, name: str) -> dict[str, Any] | None:
        """A user with every field, or None."""
        rows = self._rows("SELECT * FROM users WHERE name = ?", [name])
        return rows[0] if rows else None

    def user_by_token_hash(self, token_hash: str) -> dict[str, Any] | None:
        """The enabled user holding an API token, or None."""
        rows = self._rows("SELECT * FROM users WHERE token_hash = ? AND NOT disabled", [token_hash])
        return rows[0] if rows else None

    def list_users(self) -> list[dict[str, Any]]:
        """Every user without secrets, by name (``has_token``: holds an API token)."""
        return self._rows(
            "SELECT name, display_name, roles, teams, disabled, created_at, "
            "token_hash IS NOT NULL AS has_token FROM users ORDER BY name"
        )

    # ------------------------------------------------------------ models

    def save_model(
        self,
        name: str,
        *,
        provider: str,
        labels: list[str],
        metrics: dict[str, Any],
        blob: bytes,
        source: str,
        created_by: str | None = None,
        training: dict[str, Any] | None = None,
    ) -> int:
        """Store a new version of a model: one more than its newest (1 for a new name).

        Written in a transaction of its own on a cursor of its own, so a node may call it
        while a run's transaction is open (the shipped model is trained on first use).

        Args:
            name: the model's name, e.g. ``support-intents``.
            provider: ``builtin`` for the classifiers Loopgate trains.
            labels: every label the model can produce.
            metrics: held-out figures and counts (see docs/models.md).
            blob: the serialised model (``TextClassifier.to_bytes()``).
            source: where the training data came from: ``shipped``, ``file:PATH`` or
                ``feedback``.
            created_by: the user who trained it, if known.
            training: the file rows it was trained on and the feedback ids it used.

        Returns:
            The new version number.

        Raises:
            StoreError: the store is read-only, or the row could not be written.
        """
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only")
        row = [
            name,
            None,
            provider,
            list(labels),
            dumps(metrics),
            utcnow(),
            created_by,
            source,
            bytes(blob),
            None if training is None else dumps(training),
        ]
        with self._lock:
            cur = self._con.cursor()
            try:
                cur.execute("BEGIN")
                try:
                    row[1] = version = cur.execute(
                        "SELECT coalesce(max(version), 0) + 1 FROM models WHERE name = ?", [name]
                    ).fetchone()[0]
                    cur.execute(
                        "INSERT INTO models (name, version, provider, labels, metrics, "
                        "created_at, created_by, source, blob, training) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        row,
                    )
                    cur.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(Exception):
                        cur.execute("ROLLBACK")
                    raise
            except duckdb.Error as exc:
                raise StoreError(f"cannot save model {name}: {exc}") from None
            finally:
                cur.close()
        return int(version)

    def get_model(self, name: str, version: int | None = None) -> dict[str, Any] | None:
        """One version of a model with its blob (the newest when ``version`` is None), or
        None when there is no such model or version."""
        if version is None:
            rows = self._rows(
                "SELECT * FROM models WHERE name = ? ORDER BY version DESC LIMIT 1", [name]
            )
        else:
            rows = self._rows(
                "SELECT * FROM models WHERE name = ? AND version = ?", [name, version]
            )
        if not rows:
            return None
        row = rows[0]
        for key in ("metrics", "training"):
            if isinstance(row[key], str):
                row[key] = json.loads(row[key])
        row["blob"] = bytes(row["blob"])
        return row

    def latest_model_version(self, name: str) -> int | None:
        """The newest version of a model, or None when the store has none."""
        row = (
            self._cur().execute("SELECT max(version) FROM models WHERE name = ?", [name]).fetchone()
        )
        return None if row is None or row[0] is None else int(row[0])

    def list_models(self, name: str | None = None) -> list[dict[str, Any]]:
        """Every stored model version without its blob (``size`` is the blob's bytes),
        by name, newest version first."""
        rows = self._rows(
            "SELECT name, version, provider, labels, metrics, created_at, created_by, source, "
            "octet_length(blob) AS size, version = (SELECT coalesce((SELECT p.version FROM "
            "model_promotions p WHERE p.name = m.name ORDER BY p.promoted_at DESC, "
            "p.version DESC LIMIT 1), (SELECT max(x.version) FROM models x WHERE "
            "x.name = m.name))) AS is_default FROM models m WHERE ? IS NULL OR name = ? "
            "ORDER BY name, version DESC",
            [name, name],
        )
        for row in rows:
            if isinstance(row["metrics"], str):
                row["metrics"] = json.loads(row["metrics"])
        return rows

    def promote_model(self, name: str, version: int, *, by: str | None, reason: str) -> None:
        """Make ``version`` of ``name`` its default from now on (one row per promotion).

        Raises:
            StoreError: the store is read-only.
        """
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only")
        with self._lock:
            self._con.cursor().execute(
                "INSERT INTO model_promotions VALUES (?, ?, ?, ?, ?)",
                [name, int(version), utcnow(), by, reason],
            ).close()

    def default_model_version(self, name: str) -> int | None:
        """The version promoted last, else (a store from before promotions) the newest."""
        row = (
            self._cur()
            .execute(
                "SELECT coalesce((SELECT version FROM model_promotions WHERE name = ? "
                "ORDER BY promoted_at DESC, version DESC LIMIT 1), "
                "(SELECT max(version) FROM models WHERE name = ?))",
                [name, name],
            )
            .fetchone()
        )
        return None if row is None or row[0] is None else int(row[0])

    def feedback_for_model(self, name: str) -> list[dict[str, Any]]:
        """Feedback rows on outputs of the model ``name``, oldest first.

        Each row also carries ``step_output``: what the AI node recorded in that run (its
        latest visit), which holds the text the model saw when a correction row only
        holds the corrected value.
        """
        rows = self._rows(
            "WITH fb AS (SELECT * FROM feedback WHERE model = ?), "
            "out AS (SELECT run_id, node_id, output, row_number() OVER ("
            "    PARTITION BY run_id, node_id ORDER BY seq DESC) AS rn "
            "  FROM steps WHERE run_id IN (SELECT run_id FROM fb)) "
            "SELECT fb.*, out.output AS step_output FROM fb "
            "LEFT JOIN out ON out.run_id = fb.run_id AND out.node_id = fb.node_id AND out.rn = 1 "
            "ORDER BY fb.created_at, fb.id",
            [name],
        )
        for row in rows:
            if isinstance(row["step_output"], str):
                row["step_output"] = json.loads(row["step_output"])
        return rows
