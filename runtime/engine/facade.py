"""The engine's public face: one object with today's API over parts that each own a job."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from runtime.compiler import Workflow
from runtime.engine.assignment import ReviewAssignment
from runtime.engine.catalog import WorkflowCatalog
from runtime.engine.claims import ClaimCache
from runtime.engine.deadlines import DeadlineSweeper
from runtime.engine.decisions import Decisions
from runtime.engine.delegation import Delegations
from runtime.engine.executor import NodeExecutor
from runtime.engine.fork import ForkResult, RunForker
from runtime.engine.journal import DecisionJournal
from runtime.engine.lifecycle import RunLifecycle
from runtime.engine.results import (
    BatchItemError,
    DecisionReceipt,
    Progress,
    RunResult,
    SweepReport,
)
from runtime.engine.starts import RunStarter
from runtime.engine.stepper import Stepper
from runtime.engine.users import UserAccess
from runtime.engine.votes import Votes
from runtime.engine.working import EngineConfig
from runtime.nodes.base import Decision, NodeServices, utcnow
from runtime.spec import WorkflowSpec
from runtime.store.contract import Store

_START_ROLES = ("admin", "designer", "operator")


class Engine:
    """Runs workflows against a store.

    Every public method commits before it returns: what a caller sees as done is durable.

    Decisions go through a journal: :meth:`record_decision` makes one durable with a single
    write and returns; a background thread applies journaled decisions (claims the reviews,
    runs the workflows on to their next stop) many per transaction. :meth:`decide` waits
    for its decision to be applied. Decisions left in the journal by a process that
    stopped are applied when an engine next opens the store.

    The work is done by parts, each with one job: the workflow catalog, user access, the
    pure stepper (node work through a :class:`~runtime.engine.executor.NodeExecutor`),
    run starts, decisions, the decision journal, deadlines and the run lifecycle.

    Args:
        store: The store backend.
        services: What nodes may reach (default: ``default_services(store)``).
        batch_size: Runs per group commit.
        clock: The time source.
        executor: Where node work runs (default: inline, in the calling thread).
    """

    def __init__(
        self,
        store: Store,
        *,
        services: NodeServices | Any = None,
        batch_size: int = 500,
        clock: Callable[[], datetime] = utcnow,
        executor: NodeExecutor | None = None,
    ):
        self.store = store
        if services is None:
            from runtime.services import default_services

            services = default_services(store)
        self._config = EngineConfig(batch_size=batch_size, clock=clock)
        self._catalog = WorkflowCatalog(store)
        self._users = UserAccess(store)
        self._stepper = Stepper(services, executor)
        self.delegations = Delegations(store, self._config, self._users)
        self._stepper.delegate_of = self.delegations.delegate_of
        self._claims = ClaimCache(store, self._config)
        self._starter = RunStarter(store, self._config, self._stepper, self._claims)
        self._decisions = Decisions(
            store, self._config, self._catalog, self._users, self._stepper, self._claims
        )
        self._deadlines = DeadlineSweeper(
            store,
            self._config,
            self._catalog,
            self._stepper,
            self._claims,
            self._decisions,
            self._users,
            self.delegations,
        )
        self._assignment = ReviewAssignment(
            store, self._config, self._users, self._decisions, self._claims
        )
        self._assignment.delegate_of = self.delegations.delegate_of
        self._lifecycle = RunLifecycle(
            store, self._config, self._catalog, self._stepper, self._claims, self.flush
        )
        self._forker = RunForker(
            store, self._config, self._catalog, self._users, self._stepper, self._claims
        )
        self._votes = Votes(
            store, self._config, self._catalog, self._users, self._decisions, self._claims
        )
        # Last: opening the journal replays decisions a stopped process left in it.
        self._journal = DecisionJournal(
            store, self._config, self._users, self._claims, self._decisions
        )

    # ------------------------------------------------------------ settings

    @property
    def services(self) -> NodeServices | Any:
        """What nodes may reach (``RunContext.services``)."""
        return self._stepper.services

    @services.setter
    def services(self, value: NodeServices | Any) -> None:
        self._stepper.services = value

    @property
    def batch_size(self) -> int:
        """Runs (or decisions) per group commit."""
        return self._config.batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self._config.batch_size = value

    @property
    def clock(self) -> Callable[[], datetime]:
        """The engine's time source."""
        return self._config.clock

    @clock.setter
    def clock(self, value: Callable[[], datetime]) -> None:
        self._config.clock = value

    @property
    def card_cache_size(self) -> int:
        """How many reviews' claims are kept for decisions without a read."""
        return self._config.card_cache_size

    @card_cache_size.setter
    def card_cache_size(self, value: int) -> None:
        self._config.card_cache_size = value

    @property
    def apply_linger(self) -> float:
        """Seconds a recorded (not awaited) decision may wait for company."""
        return self._config.apply_linger

    @apply_linger.setter
    def apply_linger(self, value: float) -> None:
        self._config.apply_linger = value

    # ------------------------------------------------------------ workflows and users

    def save_workflow(
        self,
        spec: WorkflowSpec,
        *,
        by: str | None = None,
        message: str | None = None,
        draft: bool = False,
    ) -> Workflow | int:
        """Store a spec as a new version (unchanged content keeps its version).

        A spec with errors can be saved as a draft (returns the version number); otherwise
        it is compiled first and the compiled workflow is returned.

        Raises:
            SpecError: the spec has errors and draft is False.
            AccessError: ``by`` may not save workflows.
        """
        if by is not None:
            self.authorize(by, roles=("admin", "designer"), what="save workflows")
        return self._catalog.save(spec, by=by, message=message, draft=draft)

    def workflow(self, workflow_id: str, version: int | None = None) -> Workflow:
        """A stored, published workflow, compiled (cached per version).

        Raises:
            NotFoundError: no such workflow.
            SpecError: that version is a draft with errors.
        """
        return self._catalog.get(workflow_id, version)

    def user(self, name: str) -> dict[str, Any] | None:
        """A user (cached), or None."""
        return self._users.user(name)

    def forget_users(self) -> None:
        """Drop cached users (call after changing users)."""
        self._users.forget()

    def authorize(
        self, by: str, *, roles: tuple[str, ...], what: str, team: str | None = None
    ) -> dict[str, Any]:
        """Check a user may act; role and team checks live here, not in the UI.

        Raises:
            AccessError: unknown or disabled user, wrong role or team.
        """
        return self._users.authorize(by, roles=roles, what=what, team=team)

    # ------------------------------------------------------------ runs

    def start(
        self,
        workflow: Workflow | WorkflowSpec | str,
        item: dict[str, Any],
        *,
        by: str | None = None,
        idempotency_key: str | None = None,
    ) -> RunResult:
        """Start one run; returns once it is durable (waiting, finished or failed).

        Raises:
            ItemError: the item does not match the workflow's input.
            AccessError: ``by`` may not start runs.
        """
        wf = self._catalog.resolve(workflow)
        if by is not None:
            self.authorize(by, roles=_START_ROLES, what="start runs")
        return self._starter.start(wf, item, by=by, idempotency_key=idempotency_key)

    def start_many(
        self,
        workflow: Workflow | WorkflowSpec | str,
        items: Iterable[Any],
        *,
        by: str | None = None,
        batch_id: str | None = None,
        progress: Progress | None = None,
        on_result: Callable[[int, RunResult | BatchItemError], None] | None = None,
    ) -> list[RunResult | BatchItemError]:
        """Start a run per item, group-committing ``batch_size`` runs per transaction.

        With a ``batch_id``, each item gets the idempotency key ``batch_id:index``: calling
        again with the same batch (after a crash, say) starts only the items not yet started
        and returns the existing runs for the others.

        Returns:
            One entry per item, in order: its RunResult, or a BatchItemError for a bad item.
        """
        wf = self._catalog.resolve(workflow)
        if by is not None:
            self.authorize(by, roles=_START_ROLES, what="start runs")
        return self._starter.start_many(
            wf, items, by=by, batch_id=batch_id, progress=progress, on_result=on_result
        )

    def retry(self, run_id: str, *, by: str | None = None) -> RunResult:
        """Run a failed run again from the node that failed.

        Raises:
            RunError: the run is not failed.
        """
        if by is not None:
            self.authorize(by, roles=_START_ROLES, what="retry runs")
        return self._lifecycle.retry(run_id, by=by)

    def cancel(self, run_id: str, *, by: str, reason: str | None = None) -> RunResult:
        """Stop a waiting or running run; its pending reviews are cancelled."""
        self.authorize(by, roles=_START_ROLES, what="cancel runs")
        return self._lifecycle.cancel(run_id, by=by, reason=reason)

    def fork(
        self, run_id: str, at: str, decision: Decision | dict[str, Any], *, by: str
    ) -> ForkResult:
        """Start a new run from a past run's data at a checkpoint (``at``: a node id, or
        one of the run's review ids), with ``by``'s decision there; the original run is
        not changed. See :mod:`runtime.engine.fork`.

        Raises:
            NotFoundError: no such run, node or review, or its workflow version is gone.
            RunError: not a checkpoint, never stopped there, or its data there not kept.
            AccessError: ``by`` may not start runs or may not decide that checkpoint.
            DecisionError: the checkpoint does not take the decision.
        """
        return self._forker.fork(run_id, at, decision, by=by)

    def recover(self) -> list[RunResult]:
        """Continue runs a crashed process left in ``running`` (committed mid-way)."""
        return self._lifecycle.recover()

    def get_run(self, run_id: str) -> RunResult:
        """Where a run stands."""
        return self._lifecycle.get_run(run_id)

    # ------------------------------------------------------------ decisions

    def decide(self, review_id: str, decision: Decision | dict[str, Any], *, by: str) -> RunResult:
        """Apply a person's decision and run on to the next pause or the end.

        The decision is journaled (durable) first, then applied; this returns once its run
        has reached its next stop, with where it stands.

        Raises:
            ReviewNotPendingError: already decided (names who and when) or expired.
            NotFoundError: no such review.
            AccessError: the user may not decide this review.
            DecisionError: the decision does not fit the checkpoint (nothing is changed).
            VoteError: on a multi-approver review, ``by`` voted already or not in turn.
        """
        if self._votes.applies(review_id):  # several approvers: a vote, maybe the closing one
            return self._votes.cast(review_id, decision, by=by)
        journaled = self._journal.record(review_id, decision, by, waited=True)
        journaled.done.wait()
        if journaled.error is not None:
            raise journaled.error
        assert journaled.result is not None
        return journaled.result

    def record_decision(
        self, review_id: str, decision: Decision | dict[str, Any], *, by: str
    ) -> DecisionReceipt:
        """Make a decision durable and return at once; its run goes on in the background.

        The same checks as :meth:`decide` run first, so a decision that is refused is
        refused here. Use :meth:`flush` to wait until every recorded decision is applied.
        A vote on a multi-approver review is written before this returns.
        """
        if self._votes.applies(review_id):
            return self._votes.receipt(review_id, decision, by=by)
        journaled = self._journal.record(review_id, decision, by)
        return DecisionReceipt(
            review_id=review_id,
            run_id=journaled.run_id,
            action=journaled.decision.action,
            decided_by=by,
            decided_at=journaled.at,
        )

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every recorded decision has been applied; False on timeout."""
        return self._journal.flush(timeout)

    def decide_many(
        self,
        review_ids: list[str],
        decision: Decision | dict[str, Any],
        *,
        by: str,
        progress: Progress | None = None,
    ) -> list[RunResult | BatchItemError]:
        """One decision applied to many reviews, group-committed (a reviewer's bulk action).

        Reviews that cannot take it (decided meanwhile, wrong team, bad decision) are
        reported, one BatchItemError each, and the others go through.
        """
        return self._votes.decide_many(review_ids, decision, by=by, progress=progress)

    def assign(self, review_id: str, assignee: str | None, *, by: str) -> dict[str, Any]:
        """Claim, release or reassign a pending review ("assign to me").

        Claim: ``assign(rid, by, by=by)``; release: ``assign(rid, None, by=by)``. The claimer
        must be allowed to decide the review; a review someone else holds is refused naming
        the holder (an admin may take it, or give it to another user who may decide it);
        only the holder or an admin releases. Audited as ``review.claimed``,
        ``review.assigned`` or ``review.released``, written with the change.

        Returns:
            The review's row after the change (as ``Store.get_review`` gives it).

        Raises:
            NotFoundError: no such review.
            ReviewNotPendingError: the review is no longer pending (names who decided it).
            ReviewClaimedError: someone else holds it (names them).
            AccessError: the user may not claim, release or assign it.
        """
        return self._assignment.assign(review_id, assignee, by=by)

    def sweep(self, now: datetime | None = None) -> SweepReport:
        """Apply every passed deadline (take the timeout branch, decide by default, or
        escalate) and every due step of an escalation chain (remind, reassign, escalate,
        the last step's decision). Recorded in the audit trail as done by ``system``."""
        return self._deadlines.sweep(now)
