"""The store contract: the protocols a backend implements, and nothing else.

The engine, the query layer, the CLI and the API talk to a store only through these
protocols, with the records of :mod:`runtime.domain`. A backend owns all of its SQL, its
connections and its migrations; no cursor, column list or row shape crosses this line.
``tests/store/contract/`` is the conformance suite every backend passes.

Two rules are operations of the contract, not engine memory, so they hold for every
backend and, for a shared database, across processes:

* **Exactly one decider wins.** Every path that resolves a review (a journaled decision,
  a bulk decision, a deadline, a cancel) first *holds* it (:meth:`DecisionLedger.hold_reviews`
  or :meth:`DecisionLedger.journal_decision`), then *settles* it in a unit of work
  (:meth:`UnitOfWork.settle`), which changes only reviews still pending. A second path
  is refused with who decided and when.
* **The audit chain** is appended by the backend inside the unit of work that writes the
  events (:meth:`UnitOfWork.write`); the backend owns the chain's head, so a backend
  shared by many app servers serialises appends itself (the embedded DuckDB backend can:
  one process owns the file).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from runtime.domain import (
    Claim,
    DueReview,
    Event,
    HoldStatus,
    JournalEntry,
    ReviewId,
    RunRecord,
    Settlement,
    WriteBatch,
)
from runtime.errors import ReviewNotPendingError, RunError
from runtime.store.analytics_contract import AnalyticsReads, AnalyticsScope  # noqa: F401 - re-exported
from runtime.store.escalation_contract import EscalationStore
from runtime.store.fork_contract import ForkReads
from runtime.store.votes_contract import VoteReads, VoteWrites

ExportKind = Literal["audit", "decisions", "feedback", "runs", "reviews"]
ExportFormat = Literal["csv", "parquet", "jsonl"]


class UnitOfWork(VoteWrites, Protocol):
    """One write transaction: everything done through it commits together, or nothing."""

    def write(self, batch: WriteBatch) -> None:
        """Write runs (insert new, update others), reviews, feedback, records, outbox
        rows, and append the batch's events to the audit chain."""
        ...

    def settle(self, settlements: Sequence[Settlement]) -> set[ReviewId]:
        """Mark reviews decided or expired; only reviews still pending change.

        Returns:
            The ids that were pending (and are now settled).
        """
        ...

    def refusal(self, review_id: ReviewId) -> RunError:
        """Why a review cannot be decided now (NotFoundError or ReviewNotPendingError)."""
        ...

    def cancel_reviews(self, run_id: str, by: str, at: datetime) -> list[ReviewId]:
        """Cancel a run's pending reviews; returns their ids."""
        ...

    def forget_journal(self, seqs: Sequence[int]) -> None:
        """Remove applied decisions from the journal."""
        ...

    def record_fork(self, fork: dict[str, Any]) -> None:
        """Record where a forked run came from (the keys of ``ForkReads.fork_origin``)."""
        ...

    def assign_review(
        self, review_id: ReviewId, assignee: str | None, *, expected: str | None
    ) -> bool:
        """Set a pending review's assignee (None: unassigned), only while its assignee is
        still ``expected`` (compare and set: of two claims racing, one wins).

        Returns:
            True when the review was pending, held by ``expected``, and now changed.
        """
        ...

    def mark_delegated(self, review_id: ReviewId, user: str | None) -> None:
        """Record that a delegation gave ``user``'s review to its assignee (None: it is
        no delegation's)."""
        ...


class RunLedger(Protocol):
    """Runs and reviews as the engine writes and resumes them."""

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        """A write transaction; rolled back (chain head included) on any error.

        Raises:
            StoreError: the store is open read-only.
        """
        ...

    def commit(self, batch: WriteBatch) -> None:
        """Write a batch in a unit of work of its own."""
        ...

    def load_run(self, run_id: str) -> RunRecord:
        """One run as the engine works on it. Raises NotFoundError naming the id."""
        ...

    def run_ids_by_status(self, status: str) -> list[str]:
        """Ids of the runs in one status, in id order."""
        ...

    def batch_runs(self, batch_id: str) -> dict[str, dict[str, Any]]:
        """Runs already started for a batch by idempotency key: ``id, status,
        current_node``."""
        ...

    def run_outputs(self, run_id: str) -> dict[str, Any]:
        """Each node's latest output in a run, from the audit trail."""
        ...

    def pending_review_for_run(self, run_id: str) -> dict[str, Any] | None:
        """The run's pending review (``id, node_id, team``), or None."""
        ...

    def review_claims(self, review_ids: Sequence[str]) -> dict[ReviewId, Claim]:
        """Reviews with their waiting runs, as deciding them needs (missing ids left
        out), each with its status now."""
        ...

    def review_claim(self, review_id: str) -> Claim:
        """A pending review's claim.

        Raises:
            ReviewNotPendingError: decided, expired or cancelled (says by whom and when).
            NotFoundError: there is no such review.
        """
        ...

    def due_reviews(self, now: datetime) -> list[DueReview]:
        """Pending reviews whose deadline is at or before ``now``, oldest deadline first."""
        ...


class DecisionLedger(Protocol):
    """Exactly one decider wins: holds, and the decision journal."""

    def hold_reviews(
        self, review_ids: Sequence[str], *, status: HoldStatus, by: str, at: datetime
    ) -> tuple[list[ReviewId], dict[ReviewId, ReviewNotPendingError]]:
        """Hold reviews for a decision path before it settles them.

        Returns:
            The ids now held by the caller and, for the others, why not.
        """
        ...

    def release_reviews(self, review_ids: Iterable[str]) -> None:
        """Release holds (after the settling unit of work committed or failed)."""
        ...

    def check_not_held(self, review_id: str) -> None:
        """Raise ReviewNotPendingError when another decision holds this review."""
        ...

    def held_review_ids(self) -> list[ReviewId]:
        """Every review held right now."""
        ...

    def journal_decision(
        self, review_id: str, *, by: str, at: datetime, decision: dict[str, Any]
    ) -> int:
        """Make a decision durable with one write and hold its review.

        Raises:
            ReviewNotPendingError: decided or held by someone else (names who and when).
            NotFoundError: there is no such review.

        Returns:
            The journal sequence number.
        """
        ...

    def journal_entries(self) -> list[JournalEntry]:
        """The journal, oldest first, each entry with its review's status now."""
        ...

    def forget_journal(self, seqs: Sequence[int]) -> None:
        """Remove applied decisions from the journal in a transaction of their own."""
        ...


class Catalog(Protocol):
    """Workflows (versioned specs), users, trained models and the record store."""

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
        """Store a version unless the newest has the same content and status.

        Returns:
            (version, created).
        """
        ...

    def get_workflow(
        self, workflow_id: str, version: int | None = None, *, published: bool = False
    ) -> dict[str, Any]:
        """A stored version (the newest, or newest published). Raises NotFoundError."""
        ...

    def list_workflows(self) -> list[dict[str, Any]]:
        """The newest version of every workflow, with its version count."""
        ...

    def list_workflow_versions(self, workflow_id: str) -> list[dict[str, Any]]:
        """Every version of one workflow, newest first."""
        ...

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
        """Add a user (audited). Raises StoreError when the name is taken."""
        ...

    def update_user(self, name: str, *, by: str | None = None, **fields: Any) -> None:
        """Change a user's fields (audited with ``by`` as the actor, secrets left out)."""
        ...

    def get_user(self, name: str) -> dict[str, Any] | None:
        """A user, or None."""
        ...

    def data_version(self) -> int:
        """A number that changes whenever a write commits (users included): a cache of
        rows compares it to know whether to read them again."""
        ...

    def user_by_token_hash(self, token_hash: str) -> dict[str, Any] | None:
        """The enabled user holding an API token, or None."""
        ...

    def list_users(self) -> list[dict[str, Any]]:
        """Every user without secrets, by name."""
        ...

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
        """Store a new model version; may be called while a unit of work is open."""
        ...

    def get_model(self, name: str, version: int | None = None) -> dict[str, Any] | None:
        """One model version with its blob (newest when version is None), or None."""
        ...

    def latest_model_version(self, name: str) -> int | None:
        """The newest version of a model, or None."""
        ...

    def list_models(self, name: str | None = None) -> list[dict[str, Any]]:
        """Every model version without its blob."""
        ...

    def promote_model(self, name: str, version: int, *, by: str | None, reason: str) -> None:
        """Make a stored version the model's default (the newest promotion wins)."""
        ...

    def default_model_version(self, name: str) -> int | None:
        """The newest promoted version, else the newest version, or None."""
        ...

    def feedback_for_model(self, name: str) -> list[dict[str, Any]]:
        """Feedback rows on a model's outputs, each with the step output it judged."""
        ...

    def get_record(self, table: str, key: str) -> dict[str, Any] | None:
        """A live record of the built-in record store, or None."""
        ...


class AuditLog(Protocol):
    """The append-only, hash-chained audit trail."""

    def append_events(self, events: list[Event]) -> None:
        """Append events in a unit of work of their own."""
        ...

    def verify_audit_chain(self) -> tuple[bool, int, str]:
        """Recompute the chain. Returns (ok, rows checked, message naming a bad row)."""
        ...

    def audit_events(
        self,
        *,
        kind: str | None = None,
        run_id: str | None = None,
        actor: str | None = None,
        text: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        review_id: str | None = None,
        node_id: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Audit events, newest first, filtered (``text``: inside the data, literally and
        case-insensitively; ``since`` inclusive, ``until`` exclusive)."""
        ...

    def audit_event(self, seq: int) -> dict[str, Any] | None:
        """One audit row as stored (hashes in hex), or None."""
        ...

    def run_events(self, run_id: str) -> list[dict[str, Any]]:
        """One run's events in order."""
        ...

    def export(
        self,
        kind: ExportKind,
        fmt: ExportFormat,
        out: str | Path,
        *,
        filters: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> int:
        """Write a table to CSV, Parquet or JSON Lines; returns the row count.

        ``decisions`` is the decisions dataset (docs/dataset.md). ``filters``: for
        ``audit`` an audit search (``run_id, review_id, actor, node_id, kind, text, since,
        until``), for ``decisions`` ``workflow_id, since, until``, for ``feedback``
        ``workflow_id``; ``limit`` caps the rows. Raises StoreError naming a bad kind,
        format or filter.
        """
        ...


class OutboxStore(Protocol):
    """Messages waiting to leave (mail), sent after the step that queued them commits."""

    def list_outbox(
        self, status: str | None = None, *, run_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Messages, newest first."""
        ...

    def pending_outbox(
        self, now: datetime, limit: int = 100, *, max_attempts: int = 5, force: bool = False
    ) -> list[dict[str, Any]]:
        """Messages due for sending, oldest first."""
        ...

    def mark_outbox(
        self,
        outbox_id: str,
        *,
        status: str,
        attempts: int,
        last_error: str | None,
        sent_at: datetime | None,
        next_attempt_at: datetime | None,
        event: Event,
    ) -> None:
        """Record one delivery attempt and its audit event together."""
        ...


class ReadModel(Protocol):
    """The reads ``runtime.queries`` builds on (it applies the access rule)."""

    def list_pending_reviews(
        self,
        *,
        team: str | None = None,
        teams: list[str] | None = None,
        viewer: str | None = None,
        workflow_id: str | None = None,
        assignee: str | None = None,
        priority: str | None = None,
        node_id: str | None = None,
        unassigned: bool = False,
        created_before: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Pending reviews not held by a decision, most urgent and oldest first.

        ``teams``: only reviews with no team, a team in the list, or (``viewer``)
        assigned to that user; ``node_id``: only
        reviews at that checkpoint; ``assignee``: only reviews that user holds (``""``:
        only those nobody holds, like ``unassigned``); ``unassigned``: only reviews
        assigned to nobody; ``created_before``: only reviews created before that naive
        UTC time. Each row carries ``context`` (the run's item and steps).
        """
        ...

    def count_pending_reviews(
        self,
        *,
        teams: list[str] | None = None,
        viewer: str | None = None,
        team: str | None = None,
        workflow_id: str | None = None,
        assignee: str | None = None,
        priority: str | None = None,
        node_id: str | None = None,
        unassigned: bool = False,
        created_before: datetime | None = None,
    ) -> int:
        """How many reviews ``list_pending_reviews`` would list with these filters."""
        ...

    def count_pending_reviews_by(
        self,
        group_by: Literal["team", "workflow_id", "node_id", "priority", "assignee"],
        *,
        teams: list[str] | None = None,
        viewer: str | None = None,
        team: str | None = None,
        workflow_id: str | None = None,
        assignee: str | None = None,
        priority: str | None = None,
        node_id: str | None = None,
        unassigned: bool = False,
        created_before: datetime | None = None,
    ) -> dict[str | None, int]:
        """``count_pending_reviews`` per team, workflow, node, priority or assignee (None:
        no team, no assignee)."""
        ...

    def workflow_has_visible_review(self, workflow_id: str, *, teams: list[str], user: str) -> bool:
        """Whether a workflow has a review (any status) of one of ``teams``, with no team,
        or assigned to ``user`` (what makes its runs visible)."""
        ...

    def get_review(self, review_id: str) -> dict[str, Any]:
        """One review with its run's context. Raises NotFoundError."""
        ...

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run's row for display. Raises NotFoundError."""
        ...

    def decided_review_stats(self, workflow_id: str, node_id: str) -> tuple[int, datetime | None]:
        """How many reviews of a checkpoint people decided (deadlines' decisions left out),
        and when the latest was decided: a cheap staleness check for caches of them."""
        ...

    def decided_reviews(
        self,
        workflow_id: str,
        node_id: str,
        *,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """The reviews of a checkpoint (any workflow version) people decided, newest first,
        only those decided at or after ``since`` when given: ``id, run_id, node_id, team,
        decided_at, decided_by, action, reason, note, data`` and the run's ``item``."""
        ...

    def list_runs(
        self,
        *,
        status: str | None = None,
        workflow_id: str | None = None,
        teams: list[str] | None = None,
        user: str | None = None,
        limit: int = 100,
        offset: int = 0,
        workflow_version: int | None = None,
        batch_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Runs, newest first, filtered (``since``/``until`` on ``created_at``, inclusive
        and exclusive).

        When ``teams`` or ``user`` is given, only the runs that user may see: runs of
        workflows with a review (any status) whose team is NULL or in ``teams`` (None
        counts as none) or whose assignee is ``user``, plus the runs ``user`` started.
        """
        ...

    def count_runs(
        self, *, teams: list[str] | None = None, user: str | None = None
    ) -> dict[str, int]:
        """Runs per status, with ``list_runs``' visibility rule when ``teams`` or ``user``
        is given."""
        ...

    def list_feedback(
        self, *, workflow_id: str | None = None, run_id: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Training-data rows, oldest first."""
        ...

    def run_reviews(self, run_id: str) -> list[dict[str, Any]]:
        """A run's reviews in any status, oldest first (with their decisions)."""
        ...

    def decisions_dataset(
        self,
        *,
        workflow_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The decisions dataset (docs/dataset.md), oldest decision first; ``since``/
        ``until`` bound ``decided_at`` (inclusive, exclusive)."""
        ...


@runtime_checkable
class Store(
    RunLedger,
    DecisionLedger,
    Catalog,
    AuditLog,
    OutboxStore,
    ReadModel,
    AnalyticsReads,
    ForkReads,
    EscalationStore,
    VoteReads,
    Protocol,
):
    """A whole backend: what ``Engine``, ``runtime.queries``, the CLI and the API use."""

    path: str
    read_only: bool
    before_close: list[Callable[[], None]]

    def schema_version(self) -> int:
        """The schema version the migrations reached."""
        ...

    def close(self) -> None:
        """Run ``before_close`` callbacks, then release the database."""
        ...
