"""The step loop, pure: a run, its compiled workflow and the time in; a write batch out."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from runtime.compiler import CompiledNode, Workflow
from runtime.domain import Claim, Event, ReviewRecord, WriteBatch
from runtime.engine.delegation import delegated_event
from runtime.engine.executor import InlineExecutor, NodeExecutor
from runtime.engine.feedback import feedback_rows
from runtime.engine.working import WorkingRun, clone
from runtime.errors import DecisionError, LoopgateError
from runtime.ids import new_review_id, new_run_id
from runtime.nodes.base import Continue, Decision, Fail, PendingReview, RunContext, Wait
from runtime.settings import review_link

PRIORITY_UP = {"low": "normal", "normal": "high", "high": "urgent", "urgent": "urgent"}


class Stepper:
    """Moves runs through their workflow; never touches a store.

    Every method takes the run, its compiled workflow and ``now`` and records what
    happened in a :class:`~runtime.domain.WriteBatch` (runs, reviews, audit events,
    feedback, record effects, outbox rows) for a caller to commit. Node work goes through
    the executor; nodes get ``services`` (narrow reads: records, models, settings).

    Args:
        services: What nodes may reach (``RunContext.services``).
        executor: Where node work runs (default: inline).
    """

    def __init__(self, services: Any, executor: NodeExecutor | None = None):
        self.services = services
        self.executor: NodeExecutor = executor or InlineExecutor()
        # Who holds a user's reviews now (an out-of-office delegation), or None.
        self.delegate_of: Callable[[str, datetime], str | None] = lambda user, now: None

    # ------------------------------------------------------------ starting

    def new_run(
        self,
        wf: Workflow,
        item: dict[str, Any],
        now: datetime,
        by: str | None,
        batch_id: str | None = None,
        key: str | None = None,
    ) -> WorkingRun:
        """A new run at the workflow's trigger (a batch item's id derives from its key,
        so a retried batch cannot start an item twice)."""
        run_id = new_run_id()
        if key:
            run_id = "run_" + hashlib.blake2b(key.encode(), digest_size=10).hexdigest()
        return WorkingRun(
            id=run_id,
            workflow_id=wf.id,
            workflow_version=wf.version or 0,
            status="running",
            current_node=wf.trigger,
            item=item,
            steps={},
            review=None,
            visits={},
            step_count=0,
            created_at=now,
            updated_at=now,
            batch_id=batch_id,
            idempotency_key=key,
            started_by=by,
            is_new=True,
        )

    def start(self, run: WorkingRun, wf: Workflow, batch: WriteBatch, now: datetime) -> None:
        """Record a new run's start and advance it to its first stop."""
        batch.events.append(
            Event(
                kind="run.started",
                run_id=run.id,
                actor=run.started_by,
                at=now,
                data={"workflow": wf.id, "version": wf.version},
            )
        )
        self.advance(run, wf, batch, now)

    # ------------------------------------------------------------ the step loop

    def advance(self, run: WorkingRun, wf: Workflow, batch: WriteBatch, now: datetime) -> None:
        """Run nodes until the run waits, ends or fails; collect the writes in ``batch``.

        A node's ``Fail`` takes its connected failure branch (``error``); without one the
        run fails at the node with its message, and ``retry`` starts again there.
        """
        run.status = "running"
        run.review_id = run.team = None
        run_node = self.executor.run_node
        queued: list[dict[str, Any]] = []  # messages this stretch of the run queued
        while True:
            if run.step_count >= wf.spec.max_steps:
                self.fail(
                    run,
                    batch,
                    now,
                    run.current_node,
                    f"step limit of {wf.spec.max_steps} reached at node {run.current_node}; "
                    "a loop does not end (raise max_steps if it should run longer)",
                )
                break
            node = wf.nodes[run.current_node]
            visits = run.visits.get(node.id, 0) + 1
            ctx = self.context(run, wf, node, now, visits)
            outcome = run_node(node.type, node.params, ctx)
            run.visits[node.id] = visits
            if ctx.effects:
                batch.records += ctx.effects
            if ctx.outbox:
                batch.outbox += ctx.outbox
                queued += ctx.outbox
            if isinstance(outcome, Wait):
                self.wait(run, wf, node, outcome, batch, now, visits)
                link_review(queued, run.review_id)
                break
            if isinstance(outcome, Fail):
                if node.on_failure is not None:  # a connected error branch handles it
                    outcome = Continue(node.on_failure, {"error": outcome.error})
                else:  # no error path: the run fails here, with the node's message
                    self.fail(run, batch, now, node.id, failure_message(node.id, outcome.error))
                    break
            if not self.step(run, wf, node, outcome, batch, now):
                break
        run.updated_at = now
        batch.runs[run.id] = run

    def context(
        self, run: WorkingRun, wf: Workflow, node: CompiledNode, now: datetime, visits: int
    ) -> RunContext:
        """What a node sees of a run."""
        return RunContext(
            run_id=run.id,
            workflow_id=wf.id,
            node_id=node.id,
            item=run.item,
            steps=run.steps,
            review=run.review,
            now=now,
            visits=visits,
            services=self.services,
        )

    def continue_run(
        self,
        run: WorkingRun,
        wf: Workflow,
        node: CompiledNode,
        outcome: Continue,
        batch: WriteBatch,
        now: datetime,
        actor: str,
    ) -> None:
        """Record a checkpoint's decided step, then run on to the next stop."""
        if self.step(run, wf, node, outcome, batch, now, actor=actor):
            self.advance(run, wf, batch, now)
        else:
            run.updated_at = now
            batch.runs[run.id] = run

    def step(
        self,
        run: WorkingRun,
        wf: Workflow,
        node: CompiledNode,
        outcome: Continue,
        batch: WriteBatch,
        now: datetime,
        actor: str | None = None,
    ) -> bool:
        """Record a finished step; move on. Returns False when the run has ended."""
        run.steps[node.id] = outcome.output
        run.step_count += 1
        batch.events.append(
            Event(
                kind=node.type.event_kind,
                run_id=run.id,
                node_id=node.id,
                actor=actor,
                at=now,
                data={
                    "type": node.type.type_name,
                    "branch": outcome.branch,
                    "step": run.step_count,
                    "output": outcome.output,
                },
            )
        )
        if outcome.branch is None:
            run.status = "succeeded"
            run.result = (outcome.output or {}).get("result")
            run.current_node = None
            run.finished_at = now
            batch.events.append(
                Event(
                    kind="run.succeeded",
                    run_id=run.id,
                    node_id=node.id,
                    at=now,
                    data={"result": run.result} if run.result else {},
                )
            )
            return False
        nxt = node.next.get(outcome.branch)
        if nxt is None:
            self.fail(
                run,
                batch,
                now,
                node.id,
                f"node {node.id} took branch {outcome.branch!r}, which leads nowhere",
            )
            return False
        run.current_node = nxt
        return True

    def wait(
        self,
        run: WorkingRun,
        wf: Workflow,
        node: CompiledNode,
        outcome: Wait,
        batch: WriteBatch,
        now: datetime,
        visits: int,
        *,
        team: str | None = None,
        priority: str | None = None,
        note: str | None = None,
        escalated_from: str | None = None,
    ) -> None:
        """Pause a run at a checkpoint: a new review, and the run waiting on it (given to
        the assignee's delegate when one is out of office)."""
        req = outcome.request
        review_id = new_review_id()
        assignee = None if team else req.assignee
        delegate = self.delegate_of(assignee, now) if assignee else None
        run.status = "waiting"
        run.current_node = node.id
        run.review_id = review_id
        run.team = team or req.team
        batch.reviews.append(
            ReviewRecord(
                id=review_id,
                run_id=run.id,
                workflow_id=wf.id,
                workflow_version=wf.version or 0,
                node_id=node.id,
                kind=req.kind,
                team=run.team,
                assignee=delegate or assignee,
                priority=priority or req.priority,
                instructions=req.instructions,
                note=note if note is not None else req.note,
                reason_codes=req.reason_codes,
                options=list(req.options),
                actions=list(req.actions),
                form=[f.model_dump(mode="json") for f in req.form],
                display=req.show,
                visits=visits,
                deadline=None if escalated_from else req.deadline,
                on_timeout=None if escalated_from else req.on_timeout,
                escalate_to=req.escalate_to,
                escalated_from=escalated_from,
                created_at=now,
                snapshot=snapshot_of(run),
                next_step_at=None if escalated_from else req.next_step_at,
                due_at=req.due_at,
                delegated_from=assignee if delegate else None,
            )
        )
        batch.events.append(
            Event(
                kind="review.requested",
                run_id=run.id,
                review_id=review_id,
                node_id=node.id,
                at=now,
                data={
                    "team": run.team,
                    "priority": priority or req.priority,
                    "kind": req.kind,
                    **({"note": note or req.note} if (note or req.note) else {}),
                    **({"escalated_from": escalated_from} if escalated_from else {}),
                },
            )
        )
        if delegate:
            batch.events.append(
                delegated_event(run.id, review_id, node.id, assignee, delegate, now)
            )

    def fail(
        self, run: WorkingRun, batch: WriteBatch, now: datetime, node_id: str | None, error: str
    ) -> None:
        """End a run as failed at ``node_id``."""
        run.status = "failed"
        run.error = error
        run.current_node = node_id
        run.finished_at = now
        batch.events.append(
            Event(kind="run.failed", run_id=run.id, node_id=node_id, at=now, data={"error": error})
        )

    # ------------------------------------------------------------ resuming at a checkpoint

    def resume(
        self,
        claim: Claim,
        wf: Workflow,
        decision: Decision,
        by: str,
        batch: WriteBatch,
        now: datetime,
    ) -> WorkingRun:
        """Apply a person's decision to a waiting run and run it on to its next stop.

        Raises:
            DecisionError: the decision does not fit the checkpoint.
        """
        run = WorkingRun.from_review(claim)
        node = wf.nodes[claim.node_id]
        check_action(claim, node, decision)
        review = pending_review(claim)
        decided = {
            "review_id": claim.id,
            "action": decision.action,
            **decision.model_dump(exclude_none=True, exclude={"action"}),
        }
        batch.events.append(
            Event(
                kind="review.decided",
                run_id=run.id,
                review_id=claim.id,
                node_id=node.id,
                actor=by,
                at=now,
                data=decided,
            )
        )
        if decision.action == "escalate":
            target = decision.team or node.type.escalation_team(node.params)
            return self.escalate(run, wf, node, claim, target, decision.note, batch, now, by)
        before, item_before = claim.run.steps, claim.run.item
        ctx = self.context(run, wf, node, now, claim.visits)
        outcome = node.type.resume(ctx, node.params, review, decision, by)
        run.review = {"node": node.id, **outcome.output}
        batch.feedback += feedback_rows(
            run, wf, node, claim, decision, by, outcome.output, before, item_before, now
        )
        self.continue_run(run, wf, node, outcome, batch, now, by)
        return run

    def escalate(
        self,
        run: WorkingRun,
        wf: Workflow,
        node: CompiledNode,
        claim: Claim,
        team: str,
        note: str | None,
        batch: WriteBatch,
        now: datetime,
        by: str,
    ) -> WorkingRun:
        """Send a waiting run's review to another team, one priority up."""
        ctx = self.context(run, wf, node, now, claim.visits)
        outcome = node.type.run(ctx, node.params)
        if not isinstance(outcome, Wait):
            raise DecisionError(f"node {node.id} cannot be escalated")
        self.wait(
            run,
            wf,
            node,
            outcome,
            batch,
            now,
            claim.visits,
            team=team,
            priority=PRIORITY_UP.get(claim.priority, "high"),
            note=note or f"escalated by {by}",
            escalated_from=claim.id,
        )
        run.updated_at = now
        batch.runs[run.id] = run
        return run

    def validate(
        self, claim: Claim, wf: Workflow, decision: Decision, by: str, now: datetime
    ) -> None:
        """Every check the checkpoint makes on a decision, on a copy (nothing changes).

        Raises:
            DecisionError: the decision does not fit the checkpoint.
        """
        node = wf.nodes[claim.node_id]
        check_action(claim, node, decision)
        if decision.action == "escalate":
            return
        waiting = claim.run
        item, steps = clone((waiting.item, waiting.steps))
        trial = RunContext(
            run_id=claim.run_id,
            workflow_id=wf.id,
            node_id=node.id,
            item=item,
            steps=steps,
            review=waiting.review,
            now=now,
            visits=claim.visits,
            services=self.services,
        )
        node.type.resume(trial, node.params, pending_review(claim), decision, by)


def snapshot_of(run: WorkingRun) -> dict[str, Any]:
    """A run's data as it stops at a checkpoint, kept with the review (a fork starts from
    it). The run stops here, so its data is not changed before the batch is written."""
    return {
        "item": run.item,
        "steps": dict(run.steps),
        "review": run.review,
        "visits": dict(run.visits),
        "step_count": run.step_count,
    }


def link_review(messages: list[dict[str, Any]], review_id: str | None) -> None:
    """End the messages that asked for it (``notify``'s ``link_review``) with a link to
    the review their run now waits at, when $LOOPGATE_BASE_URL is set."""
    wanted = [m for m in messages if m.get("link_review")]
    if not wanted or review_id is None:
        return
    try:
        link = review_link(review_id)
    except LoopgateError as exc:  # a bad setting must not stop runs: no link, say why
        logging.getLogger("loopgate.engine").warning("no review link in messages: %s", exc)
        return
    if link is None:
        return
    for message in wanted:
        body = (message.get("body") or "").rstrip("\n")
        message["body"] = f"{body}\n\nOpen the review: {link}\n".lstrip("\n")


def failure_message(node_id: str, error: str) -> str:
    """A failed node's message as the run's error: ``node <id>: <message>`` (a message that
    already names the node is kept as it is)."""
    prefix = f"node {node_id}: "
    return error if error.startswith(prefix) else prefix + error


def check_action(claim: Claim, node: CompiledNode, decision: Decision) -> None:
    """Check the checkpoint offers the decision's action (and escalation has a team).

    Raises:
        DecisionError: naming the review, the node and the allowed actions.
    """
    if decision.action not in claim.actions:
        raise DecisionError(
            f"review {claim.id} ({claim.kind} at node {node.id}) cannot take "
            f"{decision.action!r}; allowed: {', '.join(claim.actions)}"
        )
    if decision.action == "escalate" and not (
        decision.team or node.type.escalation_team(node.params)
    ):
        raise DecisionError("escalate needs a team to send the review to (--team)")


def pending_review(claim: Claim) -> PendingReview:
    """A review as the checkpoint sees it when a decision arrives."""
    return PendingReview(
        id=claim.id,
        kind=claim.kind,
        team=claim.team,
        reason_codes=list(claim.reason_codes),
        form=claim.form,
        actions=list(claim.actions),
        options=list(claim.options),
    )
