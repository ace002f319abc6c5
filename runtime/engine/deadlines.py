"""Deadlines: a sweep applies every passed deadline (timeout branch, default, escalation)
and every due step of an escalation chain (:mod:`runtime.engine.escalation`)."""

from __future__ import annotations

from datetime import datetime

from runtime.compiler import Workflow
from runtime.domain import Claim, DueReview, Event, Settlement, WriteBatch
from runtime.engine.catalog import WorkflowCatalog
from runtime.engine.claims import ClaimCache
from runtime.engine.decisions import Decisions, Ready
from runtime.engine.delegation import Delegations
from runtime.engine.escalation import EscalationWalker
from runtime.engine.results import SweepReport
from runtime.engine.stepper import Stepper, pending_review
from runtime.engine.users import UserAccess
from runtime.engine.working import SYSTEM, EngineConfig, WorkingRun
from runtime.errors import LoopgateError
from runtime.nodes.base import Continue, Decision
from runtime.store.contract import Store


def expire_review(
    stepper: Stepper, claim: Claim, wf: Workflow, due: DueReview, now: datetime, batch: WriteBatch
) -> tuple[WorkingRun, str, Settlement]:
    """A passed deadline's outcome (pure, like the stepper): take the timeout branch,
    decide by default, or escalate.

    Returns:
        The run, the sweep report list it goes in, and how the review is settled.
    """
    node = wf.nodes[claim.node_id]
    action = due.on_timeout or "timeout"
    default = node.type.default_decision(node.params) if action == "default" else None
    if action == "default" and default is None:  # the checker refuses this; never guess
        action = "timeout"
    decided = default.action if default else action  # "default" is recorded as what it did
    settle = Settlement(
        id=due.id,
        status="expired" if decided in ("timeout", "escalate") else "decided",
        decided_by=SYSTEM,
        decided_at=now,
        action=decided,
        reason="deadline" if decided == "reject" else None,
        note=f"deadline {due.deadline:%Y-%m-%d %H:%M} passed",
    )
    run = WorkingRun.from_review(claim)
    data = {"deadline": due.deadline.isoformat(), "action": decided}
    if default is not None:
        data.update(on_timeout="default", option=default.option)
    batch.events.append(
        Event(
            kind="review.expired",
            run_id=run.id,
            review_id=due.id,
            node_id=node.id,
            actor=SYSTEM,
            at=now,
            data=data,
        )
    )
    if action == "escalate":
        run = stepper.escalate(run, wf, node, claim, due.escalate_to, None, batch, now, SYSTEM)
        return run, "escalated", settle
    if action == "timeout":
        what = "timed_out"
        outcome = Continue(
            "timeout",
            {"action": "timeout", "by": SYSTEM, "deadline": due.deadline.isoformat()},
        )
    else:
        what = "decided"
        reason_codes = list(claim.reason_codes)
        decision = default or Decision(
            action=action,
            note="decided by default at the deadline",
            reason=(
                "deadline"
                if "deadline" in reason_codes
                else (reason_codes[0] if reason_codes else None)
            )
            if action == "reject"
            else None,
        )
        ctx = stepper.context(run, wf, node, now, claim.visits)
        outcome = node.type.resume(ctx, node.params, pending_review(claim), decision, SYSTEM)
    run.review = {"node": node.id, **outcome.output}
    stepper.continue_run(run, wf, node, outcome, batch, now, SYSTEM)
    return run, what, settle


class DeadlineSweeper:
    """Applies passed deadlines and due escalation steps, recorded in the audit trail as
    done by ``system``.

    Args:
        store: The store (due reviews, holds).
        config: The engine's tunables.
        catalog: Compiled workflows by version.
        stepper: Runs expired runs on.
        claims: The claim cache.
        decisions: Settles and writes.
        users: Access checks (a chain step's assignee).
        delegations: Out-of-office delegations (a chain step's assignee's).
    """

    def __init__(
        self,
        store: Store,
        config: EngineConfig,
        catalog: WorkflowCatalog,
        stepper: Stepper,
        claims: ClaimCache,
        decisions: Decisions,
        users: UserAccess,
        delegations: Delegations,
    ):
        self._store = store
        self._config = config
        self._catalog = catalog
        self._stepper = stepper
        self._claims = claims
        self._decisions = decisions
        self._chains = EscalationWalker(store, catalog, users, delegations, claims, self._apply)

    def sweep(self, now: datetime | None = None) -> SweepReport:
        """Apply every deadline passed and every escalation step due at ``now`` (default:
        the engine's clock)."""
        now = now or self._config.clock()
        report = SweepReport()
        self._chains.sweep(now, report)
        self._apply(self._store.due_reviews(now), now, report)
        return report

    def _apply(self, due: list[DueReview], now: datetime, report: SweepReport) -> None:
        """Expire ``due`` reviews by chunks: hold, run on, settle and write."""
        size = self._config.batch_size
        for start in range(0, len(due), size):
            rows = due[start : start + size]
            # A review someone is deciding right now is theirs: the deadline skips it.
            held, _busy = self._store.hold_reviews(
                [r.id for r in rows], status="expired", by=SYSTEM, at=now
            )
            mine = set(held)
            try:
                self._expire_chunk([r for r in rows if r.id in mine], now, report)
            finally:
                self._store.release_reviews(held)
            self._claims.forget(held)

    def _expire_chunk(self, rows: list[DueReview], now: datetime, report: SweepReport) -> None:
        """Run the runs of passed deadlines on (outside the write lock), then settle the
        reviews and write everything in one transaction."""
        claims = self._claims.claims_for([r.id for r in rows])
        ready: list[Ready] = []
        for row in rows:
            claim = claims.get(row.id)
            if claim is None or claim.status != "pending":
                continue
            sub = WriteBatch()
            try:
                wf = self._catalog.get(claim.workflow_id, claim.workflow_version)
                run, what, settle = expire_review(self._stepper, claim, wf, row, now, sub)
            except LoopgateError as exc:
                report.failed.append(f"{row.id}: {exc}")
                continue
            ready.append(Ready(settle, sub, run, what))
        settled = self._decisions.write_settled(ready, WriteBatch(), lost=lambda r, exc: None)
        for r in ready:
            if r.review_id in settled:
                getattr(report, r.tag).append(r.review_id)
                report.runs.append(r.run.result_model())
