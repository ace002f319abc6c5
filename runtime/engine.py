"""The engine: starts runs, pauses them durably at checkpoints, resumes them on decisions."""

from __future__ import annotations

import atexit
import contextlib
import copy
import hashlib
import logging
import pickle
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from runtime.compiler import CompiledNode, Workflow, compile_workflow
from runtime.domain import (
    Claim,
    DueReview,
    Event,
    ReviewRecord,
    RunRecord,
    Settlement,
    WriteBatch,
    refusal,
)
from runtime.errors import (
    AccessError,
    DecisionError,
    ItemError,
    LoopgateError,
    ReviewNotPendingError,
    RunError,
    StoreError,
)
from runtime.ids import new_id, new_review_id, new_run_id
from runtime.nodes.base import (
    Continue,
    Decision,
    Fail,
    PendingReview,
    RunContext,
    Wait,
    utcnow,
)
from runtime.spec import WorkflowSpec, parse_spec
from runtime.store import Store

log = logging.getLogger("loopgate.engine")

SYSTEM = "system"
_PRIORITY_UP = {"low": "normal", "normal": "high", "high": "urgent", "urgent": "urgent"}
Progress = Callable[[int, int], None]


class RunResult(BaseModel):
    """Where a run stands after a start, a decision, a sweep or a retry."""

    run_id: str
    workflow_id: str
    workflow_version: int
    status: str
    waiting_on: str | None = None
    review_id: str | None = None
    team: str | None = None
    result: str | None = None
    error: str | None = None
    step_count: int = 0
    outputs: dict[str, Any] = Field(default_factory=dict)


class DecisionReceipt(BaseModel):
    """A decision that is durable (journaled); its run goes on in the background."""

    review_id: str
    run_id: str
    action: str
    decided_by: str
    decided_at: datetime


class BatchItemError(BaseModel):
    """An item of a batch that was not started, and why."""

    index: int
    error: str


class SweepReport(BaseModel):
    """What one sweep did."""

    timed_out: list[str] = Field(default_factory=list)
    decided: list[str] = Field(default_factory=list)
    escalated: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)
    runs: list[RunResult] = Field(default_factory=list)


@dataclass(slots=True)
class _Run(RunRecord):
    """A run while the engine works on it: the record plus where it waits."""

    review_id: str | None = None
    team: str | None = None

    def result_model(self) -> RunResult:
        return RunResult(
            run_id=self.id,
            workflow_id=self.workflow_id,
            workflow_version=self.workflow_version,
            status=self.status,
            waiting_on=self.current_node if self.status == "waiting" else None,
            review_id=self.review_id,
            team=self.team,
            result=self.result,
            error=self.error,
            step_count=self.step_count,
            outputs=self.steps,
        )

    @classmethod
    def of(cls, record: RunRecord) -> _Run:
        """The engine's working copy of a stored run."""
        return cls(**{name: getattr(record, name) for name in _RUN_FIELDS})

    @classmethod
    def from_review(cls, claim: Claim) -> _Run:
        """The waiting run behind a review, with its own copy of the data (the claim's
        run is left as it was: it is what the run looked like before the decision)."""
        waiting = claim.run
        item, steps, review = _clone((waiting.item, waiting.steps, waiting.review))
        return cls(
            id=claim.run_id,
            workflow_id=claim.workflow_id,
            workflow_version=claim.workflow_version,
            status="running",
            current_node=claim.node_id,
            item=item,
            steps=steps,
            review=review,
            visits=dict(waiting.visits),
            step_count=waiting.step_count,
            created_at=waiting.created_at,
            updated_at=utcnow(),
            batch_id=waiting.batch_id,
            idempotency_key=waiting.idempotency_key,
            started_by=waiting.started_by,
        )


_RUN_FIELDS = tuple(f.name for f in fields(RunRecord))


@dataclass(slots=True)
class _Journaled:
    """A decision in the journal, waiting for the engine to apply it."""

    seq: int
    review_id: str
    by: str
    at: datetime
    decision: Decision
    run_id: str = ""
    waited: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    result: RunResult | None = None
    error: LoopgateError | None = None

    def entry(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "review_id": self.review_id,
            "decided_by": self.by,
            "decided_at": self.at,
            "decision": self.decision.model_dump(mode="json", exclude_none=True),
        }


@dataclass(slots=True)
class _Ready:
    """A held review whose run went on (outside any transaction), waiting to be settled."""

    settle: Settlement  # how the review is marked
    batch: WriteBatch  # what the run did
    run: _Run
    tag: Any = None  # the caller's: its journal entry, its slot, its report list

    @property
    def review_id(self) -> str:
        return self.settle.id


class Engine:
    """Runs workflows against a store.

    Every public method commits before it returns: what a caller sees as done is durable.

    Decisions go through a journal: :meth:`record_decision` makes one durable with a single
    write and returns; a background thread applies journaled decisions (claims the reviews,
    runs the workflows on to their next stop) many per transaction. :meth:`decide` waits
    for its decision to be applied. Decisions left in the journal by a process that
    stopped are applied when an engine next opens the store.
    """

    card_cache_size = 50_000
    apply_linger = 0.2  # seconds a recorded (not awaited) decision may wait for company

    def __init__(
        self,
        store: Store,
        *,
        services: Any = None,
        batch_size: int = 500,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        if services is None:
            from runtime.services import default_services

            services = default_services(store)
        self.services = services
        self.batch_size = batch_size
        self.clock = clock
        self._workflows: dict[tuple[str, int], Workflow] = {}
        self._users: dict[str, dict[str, Any] | None] = {}
        self._cache_lock = threading.Lock()
        # Reviews this engine created, with what deciding them needs (all of it fixed while
        # the review is pending), so a decision needs no read: review id -> claim.
        self._cards: dict[str, Claim] = {}
        self._apply_cond = threading.Condition()
        self._apply_queue: list[_Journaled] = []
        self._applying = 0
        self._applier_running = False
        self._flushing = 0
        self._journal_done: list[int] = []  # applied journal rows not yet removed
        if not store.read_only:
            self._replay_journal()
            # Recorded decisions are applied before the store closes or Python exits.
            store.before_close.append(self.flush)
            _ENGINES.add(self)

    # ------------------------------------------------------------ workflows

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
        """
        if by is not None:
            self.authorize(by, roles=("admin", "designer"), what="save workflows")
        if draft:
            version, _ = self.store.save_workflow(
                spec.to_dict(),
                digest=spec.digest(),
                name=spec.name,
                status="draft",
                by=by,
                message=message,
            )
            return version
        wf = compile_workflow(spec)
        version, _ = self.store.save_workflow(
            spec.to_dict(),
            digest=spec.digest(),
            name=spec.name,
            status="published",
            by=by,
            message=message,
        )
        wf.version = version
        with self._cache_lock:
            self._workflows[(spec.id, version)] = wf
        return wf

    def workflow(self, workflow_id: str, version: int | None = None) -> Workflow:
        """A stored, published workflow, compiled (cached per version).

        Raises:
            NotFoundError: no such workflow.
            SpecError: that version is a draft with errors.
        """
        if version is not None:
            cached = self._workflows.get((workflow_id, version))
            if cached is not None:
                return cached
        row = self.store.get_workflow(workflow_id, version, published=version is None)
        key = (workflow_id, row["version"])
        cached = self._workflows.get(key)
        if cached is not None:
            return cached
        wf = compile_workflow(parse_spec(row["spec"]))
        wf.version = row["version"]
        with self._cache_lock:
            self._workflows[key] = wf
        return wf

    def _as_workflow(self, workflow: Workflow | WorkflowSpec | str) -> Workflow:
        if isinstance(workflow, str):
            return self.workflow(workflow)
        if isinstance(workflow, WorkflowSpec):
            saved = self.save_workflow(workflow)
            assert isinstance(saved, Workflow)
            return saved
        if workflow.version is None:
            saved = self.save_workflow(workflow.spec)
            assert isinstance(saved, Workflow)
            return saved
        return workflow

    # ------------------------------------------------------------ users

    def user(self, name: str) -> dict[str, Any] | None:
        if name not in self._users:
            self._users[name] = self.store.get_user(name)
        return self._users[name]

    def forget_users(self) -> None:
        """Drop cached users (call after changing users)."""
        self._users.clear()

    def authorize(
        self, by: str, *, roles: tuple[str, ...], what: str, team: str | None = None
    ) -> dict[str, Any]:
        """Check a user may act; role and team checks live here, not in the UI.

        Raises:
            AccessError: unknown or disabled user, wrong role or team.
        """
        user = self.user(by)
        if user is None:
            raise AccessError(
                f"unknown user {by!r}; add them with `loopgate users add {by} --role reviewer "
                "--team TEAM`"
            )
        if user["disabled"]:
            raise AccessError(f"user {by} is disabled")
        user_roles = set(user["roles"])
        if "admin" in user_roles:
            return user
        if not user_roles.intersection(roles):
            raise AccessError(f"user {by} may not {what} (needs role {' or '.join(roles)})")
        if team and team not in user["teams"]:
            teams = ", ".join(user["teams"]) or "none"
            raise AccessError(f"user {by} may not {what} for team {team} (their teams: {teams})")
        return user

    # ------------------------------------------------------------ start

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
        """
        wf = self._as_workflow(workflow)
        if by is not None:
            self.authorize(by, roles=("admin", "designer", "operator"), what="start runs")
        clean = wf.validate_item(item)
        now = self.clock()
        run = self._new_run(wf, clean, now, by, None, idempotency_key)
        batch = WriteBatch()
        self._begin(run, wf, batch, now)
        self._advance(run, wf, batch, now)
        self._commit(batch)
        return run.result_model()

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
        wf = self._as_workflow(workflow)
        if by is not None:
            self.authorize(by, roles=("admin", "designer", "operator"), what="start runs")
        items = list(items)
        total = len(items)
        existing = self.store.batch_runs(batch_id) if batch_id else {}
        results: list[RunResult | BatchItemError | None] = [None] * total
        done = 0
        chunk: list[tuple[int, _Run]] = []
        batch = WriteBatch()

        def flush() -> None:
            nonlocal batch, chunk, done
            self._commit(batch)
            for index, run in chunk:
                res = run.result_model()
                results[index] = res
                if on_result:
                    on_result(index, res)
            done += len(chunk)
            chunk, batch = [], WriteBatch()
            if progress:
                progress(done, total)

        for index, raw in enumerate(items):
            key = f"{batch_id}:{index}" if batch_id else None
            if key and key in existing:
                prev = existing[key]
                res = RunResult(
                    run_id=prev["id"],
                    workflow_id=wf.id,
                    workflow_version=wf.version or 0,
                    status=prev["status"],
                    waiting_on=prev["current_node"] if prev["status"] == "waiting" else None,
                )
                results[index] = res
                done += 1
                if on_result:
                    on_result(index, res)
                continue
            try:
                clean = wf.validate_item(raw)
            except ItemError as exc:
                err = BatchItemError(index=index, error=str(exc))
                results[index] = err
                done += 1
                if on_result:
                    on_result(index, err)
                continue
            now = self.clock()
            run = self._new_run(wf, clean, now, by, batch_id, key)
            self._begin(run, wf, batch, now)
            self._advance(run, wf, batch, now)
            chunk.append((index, run))
            if len(chunk) >= self.batch_size:
                flush()
        if chunk or batch:
            flush()
        elif progress:
            progress(done, total)
        return [r for r in results if r is not None]

    def _new_run(
        self,
        wf: Workflow,
        item: dict[str, Any],
        now: datetime,
        by: str | None,
        batch_id: str | None,
        key: str | None,
    ) -> _Run:
        run_id = new_run_id()
        if key:
            # Deterministic ids for batch items: a retried batch cannot start an item twice.
            run_id = "run_" + hashlib.blake2b(key.encode(), digest_size=10).hexdigest()
        return _Run(
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

    def _begin(self, run: _Run, wf: Workflow, batch: WriteBatch, now: datetime) -> None:
        batch.events.append(
            Event(
                kind="run.started",
                run_id=run.id,
                actor=run.started_by,
                at=now,
                data={"workflow": wf.id, "version": wf.version},
            )
        )

    # ------------------------------------------------------------ the step loop

    def _advance(self, run: _Run, wf: Workflow, batch: WriteBatch, now: datetime) -> None:
        """Run nodes until the run waits, ends or fails; collect the writes in ``batch``."""
        run.status = "running"
        run.review_id = run.team = None
        while True:
            if run.step_count >= wf.spec.max_steps:
                self._fail(
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
            ctx = self._context(run, wf, node, now, visits)
            try:
                outcome = node.type.run(ctx, node.params)
            except LoopgateError as exc:
                outcome = Fail(str(exc))
            except Exception as exc:  # a node's bug must fail its run, not the engine
                outcome = Fail(f"{node.type.type_name} crashed: {type(exc).__name__}: {exc}")
            run.visits[node.id] = visits
            if ctx.effects:
                batch.records += ctx.effects
            if ctx.outbox:
                batch.outbox += ctx.outbox
            if isinstance(outcome, Wait):
                self._wait(run, wf, node, outcome, batch, now, visits)
                break
            if isinstance(outcome, Fail):
                if "error" in node.branches:
                    outcome = Continue("error", {"error": outcome.error})
                else:
                    self._fail(run, batch, now, node.id, f"node {node.id}: {outcome.error}")
                    break
            if not self._step(run, wf, node, outcome, batch, now):
                break
        run.updated_at = now
        batch.runs[run.id] = run

    def _context(
        self, run: _Run, wf: Workflow, node: CompiledNode, now: datetime, visits: int
    ) -> RunContext:
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

    def _continue(
        self,
        run: _Run,
        wf: Workflow,
        node: CompiledNode,
        outcome: Continue,
        batch: WriteBatch,
        now: datetime,
        actor: str,
    ) -> None:
        """Record a checkpoint's decided step, then run on to the next stop."""
        if self._step(run, wf, node, outcome, batch, now, actor=actor):
            self._advance(run, wf, batch, now)
        else:
            run.updated_at = now
            batch.runs[run.id] = run

    def _step(
        self,
        run: _Run,
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
            self._fail(
                run,
                batch,
                now,
                node.id,
                f"node {node.id} took branch {outcome.branch!r}, which leads nowhere",
            )
            return False
        run.current_node = nxt
        return True

    def _wait(
        self,
        run: _Run,
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
        req = outcome.request
        review_id = new_review_id()
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
                assignee=None if team else req.assignee,
                priority=priority or req.priority,
                instructions=req.instructions,
                note=note if note is not None else req.note,
                reason_codes=req.reason_codes,
                actions=list(req.actions),
                form=[f.model_dump(mode="json") for f in req.form],
                display=req.show,
                visits=visits,
                deadline=None if escalated_from else req.deadline,
                on_timeout=None if escalated_from else req.on_timeout,
                escalate_to=req.escalate_to,
                escalated_from=escalated_from,
                created_at=now,
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

    def _fail(
        self, run: _Run, batch: WriteBatch, now: datetime, node_id: str | None, error: str
    ) -> None:
        run.status = "failed"
        run.error = error
        run.current_node = node_id
        run.finished_at = now
        batch.events.append(
            Event(kind="run.failed", run_id=run.id, node_id=node_id, at=now, data={"error": error})
        )

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
        """
        journaled = self._journal(review_id, decision, by, waited=True)
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
        """
        journaled = self._journal(review_id, decision, by)
        return DecisionReceipt(
            review_id=review_id,
            run_id=journaled.run_id,
            action=journaled.decision.action,
            decided_by=by,
            decided_at=journaled.at,
        )

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every recorded decision has been applied; False on timeout."""
        with self._apply_cond:
            self._flushing += 1
            self._apply_cond.notify_all()
            try:
                return self._apply_cond.wait_for(
                    lambda: not self._apply_queue and not self._applying, timeout
                )
            finally:
                self._flushing -= 1

    def _journal(
        self, review_id: str, decision: Decision | dict[str, Any], by: str, waited: bool = False
    ) -> _Journaled:
        if not isinstance(decision, Decision):
            decision = Decision.model_validate(decision)
        if by == SYSTEM:
            raise AccessError("'system' is reserved for deadlines; decide as a user")
        self.authorize(by, roles=("admin", "reviewer", "designer"), what="decide reviews")
        self.store.check_not_held(review_id)  # "already decided" before any other complaint
        claim = self._cards.get(review_id) or self.store.review_claim(review_id)
        self._validate(claim, decision, by)
        now = self.clock()
        seq = self.store.journal_decision(
            review_id,
            by=by,
            at=now,
            decision=decision.model_dump(mode="json", exclude_none=True),
        )
        journaled = _Journaled(
            seq=seq,
            review_id=review_id,
            by=by,
            at=now,
            decision=decision,
            run_id=claim.run_id,
            waited=waited,
        )
        self._submit(journaled)
        return journaled

    def _validate(self, claim: Claim, decision: Decision, by: str) -> None:
        """Every check a decision must pass, without changing anything."""
        self._check_may_decide(by, claim)
        wf = self.workflow(claim.workflow_id, claim.workflow_version)
        node = wf.nodes[claim.node_id]
        _check_action(claim, node, decision)
        if decision.action == "escalate":
            return
        item, steps = _clone((claim.run.item, claim.run.steps))
        trial = RunContext(
            run_id=claim.run_id,
            workflow_id=wf.id,
            node_id=node.id,
            item=item,
            steps=steps,
            review=claim.run.review,
            now=self.clock(),
            visits=claim.visits,
            services=self.services,
        )
        node.type.resume(trial, node.params, _pending(claim), decision, by)

    # ------------------------------------------------------------ applying the journal

    def _submit(self, journaled: _Journaled) -> None:
        with self._apply_cond:
            self._apply_queue.append(journaled)
            if not self._applier_running:
                self._applier_running = True
                threading.Thread(
                    target=self._apply_loop, name="loopgate-decisions", daemon=True
                ).start()
            self._apply_cond.notify_all()

    def _apply_loop(self) -> None:
        """Apply journaled decisions as they come, as many per transaction as are queued."""
        while True:
            with self._apply_cond:
                if not self._apply_queue:
                    self._apply_cond.wait(timeout=2.0)
                if not self._apply_queue:
                    self._applier_running = False
                    self._apply_cond.notify_all()
                    done, self._journal_done = self._journal_done, []
                    break
                # Nobody waits on recorded decisions: gather more of them per commit.
                linger = time.monotonic() + self.apply_linger
                while (
                    len(self._apply_queue) < self.batch_size
                    and not self._flushing
                    and not any(j.waited for j in self._apply_queue)
                    and (left := linger - time.monotonic()) > 0
                ):
                    self._apply_cond.wait(timeout=left)
                todo = self._apply_queue[: self.batch_size]
                del self._apply_queue[: self.batch_size]
                self._applying = len(todo)
            try:
                self._apply(todo)
            except Exception as exc:  # never leave a waiting decide() hanging
                log.exception("applying decisions failed")
                for j in todo:
                    if not j.done.is_set():
                        j.error = RunError(f"the decision on {j.review_id} failed: {exc}")
                        j.done.set()
            finally:
                with self._apply_cond:
                    self._applying = 0
                    self._apply_cond.notify_all()
        try:  # idle: tidy the journal
            self.store.forget_journal(done)
        except Exception as exc:  # the store may be closed; a replay tidies up instead
            log.debug("journal not tidied: %s", exc)

    def _apply(self, todo: list[_Journaled]) -> None:
        """Apply journaled decisions in one transaction, retrying a failed commit.

        A batch that cannot be committed stays in the journal and held: nobody can decide
        those reviews again, and the next engine to open the store applies them.
        """
        problem: Exception | None = None
        for attempt in range(3):
            try:
                self._apply_once(todo)
                break
            except Exception as exc:  # the database failed; the journal still has them
                problem = exc
                log.warning("applying %d decision(s) failed: %s", len(todo), exc)
                time.sleep(0.05 * 2**attempt)
        else:
            for j in todo:
                j.error = StoreError(
                    f"the decision on {j.review_id} is recorded but its run could not go on "
                    f"({problem}); it is applied when Loopgate next opens {self.store.path}"
                )
                j.done.set()
            return
        ids = [j.review_id for j in todo]
        self.store.release_reviews(ids)
        with self._cache_lock:
            for rid in ids:
                self._cards.pop(rid, None)
        for j in todo:
            j.done.set()

    def _apply_once(self, todo: list[_Journaled]) -> None:
        """Run each decided run on (outside the write lock: a node may call a webhook), then
        settle the reviews and write everything in one short transaction."""
        batch = WriteBatch()
        failed: list[int] = []
        # Journal rows of decisions applied earlier go in the same commit, a few hundred at
        # a time (a replay skips applied rows anyway).
        forget = self._journal_done[:] if len(self._journal_done) >= self.batch_size else []
        claims = self._claims_for([j.review_id for j in todo])
        ready: list[_Ready] = []
        for j in todo:
            j.result = j.error = None
            claim = claims.get(j.review_id)
            try:
                if claim is None or claim.status != "pending":
                    raise refusal(j.review_id, claim)
                sub = WriteBatch()
                run = self._resume(claim, j.decision, j.by, sub, j.at)
            except Exception as exc:
                self._decision_failed(j, claim, exc, batch, failed)
                continue
            ready.append(_Ready(_settle_row(j.review_id, j.by, j.at, j.decision), sub, run, j))
        settled = self._write_settled(
            ready,
            batch,
            lost=lambda r, exc: self._decision_failed(
                r.tag, claims.get(r.review_id), exc, batch, failed
            ),
            also=lambda uow: uow.forget_journal(forget + failed),
        )
        for r in ready:
            if r.review_id in settled:
                r.tag.result = r.run.result_model()
        del self._journal_done[: len(forget)]
        self._journal_done += [j.seq for j in todo if j.error is None]

    def _write_settled(
        self,
        ready: list[_Ready],
        batch: WriteBatch,
        *,
        lost: Callable[[_Ready, RunError], None],
        also: Callable[[Any], None] | None = None,
    ) -> set[str]:
        """One transaction: settle the held reviews whose runs went on, and write what
        those runs did together with ``batch``. A review that was no longer pending (it
        cannot be while held) goes to ``lost`` (inside the transaction, so it may add to
        ``batch``) and its run's writes are dropped. Returns the settled review ids."""
        with self.store.unit_of_work() as uow:
            settled = uow.settle([r.settle for r in ready])
            for r in ready:
                if r.review_id in settled:
                    batch.merge(r.batch)
                else:
                    lost(r, uow.refusal(r.review_id))
            uow.write(batch)
            if also is not None:
                also(uow)
        self._remember(batch)
        return settled

    def _decision_failed(
        self,
        j: _Journaled,
        claim: Claim | None,
        exc: Exception,
        batch: WriteBatch,
        failed: list[int],
    ) -> None:
        """A journaled decision that cannot be applied: said to its decider and audited."""
        if isinstance(exc, LoopgateError):
            j.error = exc
        else:  # a node's bug must not lose the other decisions
            j.error = RunError(
                f"applying the decision on {j.review_id} failed: {type(exc).__name__}: {exc}"
            )
        failed.append(j.seq)
        batch.events.append(
            Event(
                kind="review.decision_failed",
                review_id=j.review_id,
                run_id=claim.run_id if claim else None,
                actor=j.by,
                at=j.at,
                data={"action": j.decision.action, "error": str(j.error)},
            )
        )

    def _claims_for(self, review_ids: list[str]) -> dict[str, Claim]:
        """What deciding these reviews needs: from ``_cards`` or, for the others, one read.
        A review not found is left out. Read-only: ``_Run.from_review`` copies the data."""
        with self._cache_lock:
            out = {rid: self._cards[rid] for rid in review_ids if rid in self._cards}
        missing = [rid for rid in review_ids if rid not in out]
        if missing:
            out.update(self.store.review_claims(missing))
        return out

    def _replay_journal(self) -> None:
        """Apply decisions a stopped process journaled but did not apply."""
        entries = self.store.journal_entries()
        if not entries:
            return
        todo = []
        applied = []
        mine = set(self.store.held_review_ids())  # other engines' decisions in flight
        for e in entries:
            if e.review_id in mine:
                continue
            if e.review_status != "pending":
                applied.append(e.seq)
                continue
            held, _busy = self.store.hold_reviews(
                [e.review_id], status="decided", by=e.decided_by, at=e.decided_at
            )
            if held:  # else another engine in this process is applying it
                todo.append(
                    _Journaled(
                        seq=e.seq,
                        review_id=e.review_id,
                        by=e.decided_by,
                        at=e.decided_at,
                        decision=Decision.model_validate(e.decision),
                    )
                )
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            self._apply(chunk)
            for j in chunk:
                if j.error is not None:
                    log.warning("journaled decision on %s: %s", j.review_id, j.error)
        self.store.forget_journal(applied + self._journal_done)
        self._journal_done.clear()
        if todo:
            log.info("applied %d journaled decision(s) left by a stopped process", len(todo))

    def _commit(self, batch: WriteBatch) -> None:
        self.store.commit(batch)
        self._remember(batch)

    def _remember(self, batch: WriteBatch) -> None:
        """Keep what deciding each new review needs (see ``_cards``); call after commit."""
        if not batch.reviews:
            return
        with self._cache_lock:
            for r in batch.reviews:
                run = batch.runs.get(r.run_id)
                if run is not None and run.status == "waiting":
                    self._cards[r.id] = Claim.of(r, run)
            while len(self._cards) > self.card_cache_size:
                del self._cards[next(iter(self._cards))]

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
        if not isinstance(decision, Decision):
            decision = Decision.model_validate(decision)
        self.authorize(by, roles=("admin", "reviewer", "designer"), what="decide reviews")
        out: list[RunResult | BatchItemError] = []
        total = len(review_ids)
        for start in range(0, total, self.batch_size):
            chunk = review_ids[start : start + self.batch_size]
            now = self.clock()
            held, busy = self.store.hold_reviews(chunk, status="decided", by=by, at=now)
            try:
                out += self._decide_chunk(chunk, start, held, busy, decision, by, now)
            finally:
                self.store.release_reviews(held)
            with self._cache_lock:
                for rid in held:
                    self._cards.pop(rid, None)
            if progress:
                progress(min(start + len(chunk), total), total)
        return out

    def _decide_chunk(
        self,
        chunk: list[str],
        start: int,
        held: list[str],
        busy: dict[str, ReviewNotPendingError],
        decision: Decision,
        by: str,
        now: datetime,
    ) -> list[RunResult | BatchItemError]:
        """Run the held reviews' runs on (outside the write lock), then settle the reviews
        and write everything in one transaction."""
        claims = self._claims_for(held)
        slots: list[RunResult | BatchItemError | None] = [None] * len(chunk)
        ready: dict[str, _Ready] = {}
        for offset, review_id in enumerate(chunk):
            claim = claims.get(review_id)
            try:
                if review_id in busy:
                    raise busy[review_id]
                if review_id in ready:  # listed twice: decided once
                    raise ReviewNotPendingError(review_id, "decided", by, _iso(now))
                if claim is None or claim.status != "pending":
                    raise refusal(review_id, claim)
                self._check_may_decide(by, claim)
                sub = WriteBatch()
                run = self._resume(claim, decision, by, sub, now)
            except LoopgateError as exc:
                slots[offset] = BatchItemError(index=start + offset, error=str(exc))
                continue
            settle = _settle_row(review_id, by, now, decision)
            ready[review_id] = _Ready(settle, sub, run, offset)

        def lost(r: _Ready, exc: RunError) -> None:
            slots[r.tag] = BatchItemError(index=start + r.tag, error=str(exc))

        settled = self._write_settled(list(ready.values()), WriteBatch(), lost=lost)
        for r in ready.values():
            if r.review_id in settled:
                slots[r.tag] = r.run.result_model()
        return [s for s in slots if s is not None]

    def _check_may_decide(self, by: str, claim: Claim) -> None:
        user = self.user(by)
        assert user is not None
        roles = set(user["roles"])
        if "admin" in roles:
            return
        if "reviewer" not in roles:
            if claim.run.started_by == by:
                return  # a designer following their own test run to its end
            raise AccessError(f"user {by} may not decide review {claim.id} (not a reviewer)")
        team = claim.team
        if team and team not in user["teams"]:
            raise AccessError(
                f"user {by} may not decide review {claim.id}: it belongs to team {team}, "
                f"and {by} is in {', '.join(user['teams']) or 'no team'}"
            )

    def _resume(
        self, claim: Claim, decision: Decision, by: str, batch: WriteBatch, now: datetime
    ) -> _Run:
        wf = self.workflow(claim.workflow_id, claim.workflow_version)
        run = _Run.from_review(claim)
        node = wf.nodes[claim.node_id]
        _check_action(claim, node, decision)
        review = _pending(claim)
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
            target = decision.team or node.params.escalate_to  # type: ignore[attr-defined]
            return self._escalate(run, wf, node, claim, target, decision.note, batch, now, by)
        before, item_before = claim.run.steps, claim.run.item
        ctx = self._context(run, wf, node, now, claim.visits)
        outcome = node.type.resume(ctx, node.params, review, decision, by)
        run.review = {"node": node.id, **outcome.output}
        batch.feedback += _feedback_rows(
            run, wf, node, claim, decision, by, outcome.output, before, item_before, now
        )
        self._continue(run, wf, node, outcome, batch, now, by)
        return run

    def _escalate(
        self,
        run: _Run,
        wf: Workflow,
        node: CompiledNode,
        claim: Claim,
        team: str,
        note: str | None,
        batch: WriteBatch,
        now: datetime,
        by: str,
    ) -> _Run:
        ctx = self._context(run, wf, node, now, claim.visits)
        outcome = node.type.run(ctx, node.params)
        if not isinstance(outcome, Wait):
            raise DecisionError(f"node {node.id} cannot be escalated")
        self._wait(
            run,
            wf,
            node,
            outcome,
            batch,
            now,
            claim.visits,
            team=team,
            priority=_PRIORITY_UP.get(claim.priority, "high"),
            note=note or f"escalated by {by}",
            escalated_from=claim.id,
        )
        run.updated_at = now
        batch.runs[run.id] = run
        return run

    # ------------------------------------------------------------ deadlines

    def sweep(self, now: datetime | None = None) -> SweepReport:
        """Apply every passed deadline: take the timeout branch, decide by default, or
        escalate. Recorded in the audit trail as done by ``system``."""
        now = now or self.clock()
        report = SweepReport()
        due = self.store.due_reviews(now)
        for start in range(0, len(due), self.batch_size):
            rows = due[start : start + self.batch_size]
            # A review someone is deciding right now is theirs: the deadline skips it.
            held, _busy = self.store.hold_reviews(
                [r.id for r in rows], status="expired", by=SYSTEM, at=now
            )
            mine = set(held)
            try:
                self._expire_chunk([r for r in rows if r.id in mine], now, report)
            finally:
                self.store.release_reviews(held)
            with self._cache_lock:
                for rid in held:
                    self._cards.pop(rid, None)
        return report

    def _expire_chunk(self, rows: list[DueReview], now: datetime, report: SweepReport) -> None:
        """Run the runs of passed deadlines on (outside the write lock), then settle the
        reviews and write everything in one transaction."""
        claims = self._claims_for([r.id for r in rows])
        ready: list[_Ready] = []
        for row in rows:
            claim = claims.get(row.id)
            if claim is None or claim.status != "pending":
                continue
            sub = WriteBatch()
            try:
                run, what, settle = self._expire(claim, row, now, sub)
            except LoopgateError as exc:
                report.failed.append(f"{row.id}: {exc}")
                continue
            ready.append(_Ready(settle, sub, run, what))
        settled = self._write_settled(ready, WriteBatch(), lost=lambda r, exc: None)
        for r in ready:
            if r.review_id in settled:
                getattr(report, r.tag).append(r.review_id)
                report.runs.append(r.run.result_model())

    def _expire(
        self, claim: Claim, row: DueReview, now: datetime, batch: WriteBatch
    ) -> tuple[_Run, str, Settlement]:
        """A passed deadline's outcome: the run, the report list it goes in, and how the
        review is settled."""
        action = row.on_timeout or "timeout"
        settle = Settlement(
            id=row.id,
            status="decided" if action in ("approve", "reject") else "expired",
            decided_by=SYSTEM,
            decided_at=now,
            action=action,
            reason="deadline" if action == "reject" else None,
            note=f"deadline {row.deadline:%Y-%m-%d %H:%M} passed",
        )
        wf = self.workflow(claim.workflow_id, claim.workflow_version)
        node = wf.nodes[claim.node_id]
        run = _Run.from_review(claim)
        batch.events.append(
            Event(
                kind="review.expired",
                run_id=run.id,
                review_id=row.id,
                node_id=node.id,
                actor=SYSTEM,
                at=now,
                data={"deadline": row.deadline.isoformat(), "action": action},
            )
        )
        if action == "escalate":
            run = self._escalate(run, wf, node, claim, row.escalate_to, None, batch, now, SYSTEM)
            return run, "escalated", settle
        if action == "timeout":
            what = "timed_out"
            outcome = Continue(
                "timeout",
                {"action": "timeout", "by": SYSTEM, "deadline": row.deadline.isoformat()},
            )
        else:
            what = "decided"
            reason_codes = list(claim.reason_codes)
            decision = Decision(
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
            review = _pending(claim)
            ctx = self._context(run, wf, node, now, claim.visits)
            outcome = node.type.resume(ctx, node.params, review, decision, SYSTEM)
        run.review = {"node": node.id, **outcome.output}
        self._continue(run, wf, node, outcome, batch, now, SYSTEM)
        return run, what, settle

    # ------------------------------------------------------------ retry, cancel, recover

    def retry(self, run_id: str, *, by: str | None = None) -> RunResult:
        """Run a failed run again from the node that failed.

        Raises:
            RunError: the run is not failed.
        """
        if by is not None:
            self.authorize(by, roles=("admin", "designer", "operator"), what="retry runs")
        run = _Run.of(self.store.load_run(run_id))
        if run.status != "failed":
            raise RunError(f"run {run_id} is {run.status}, only failed runs can be retried")
        wf = self.workflow(run.workflow_id, run.workflow_version)
        if run.current_node not in wf.nodes:
            raise RunError(f"run {run_id} failed before any node ran; start a new run instead")
        now = self.clock()
        batch = WriteBatch()
        batch.events.append(
            Event(
                kind="run.retried",
                run_id=run.id,
                node_id=run.current_node,
                actor=by,
                at=now,
                data={"error": run.error},
            )
        )
        run.error = None
        run.finished_at = None
        if run.step_count >= wf.spec.max_steps:
            run.step_count = 0  # a retry gets a fresh step budget
        self._advance(run, wf, batch, now)
        self._commit(batch)
        return run.result_model()

    def cancel(self, run_id: str, *, by: str, reason: str | None = None) -> RunResult:
        """Stop a waiting or running run; its pending reviews are cancelled."""
        self.authorize(by, roles=("admin", "designer", "operator"), what="cancel runs")
        self.flush()  # a decision already recorded on this run goes first
        now = self.clock()
        pending = self.store.pending_review_for_run(run_id)
        held, busy = self.store.hold_reviews(
            [pending["id"]] if pending else [], status="cancelled", by=by, at=now
        )
        try:
            if busy:
                raise RunError(f"run {run_id} cannot be cancelled now: {next(iter(busy.values()))}")
            return self._cancel(run_id, by, reason, now)
        finally:
            self.store.release_reviews(held)

    def _cancel(self, run_id: str, by: str, reason: str | None, now: datetime) -> RunResult:
        run = _Run.of(self.store.load_run(run_id))
        if run.status not in ("waiting", "running"):
            raise RunError(f"run {run_id} is {run.status}; only waiting runs can be cancelled")
        with self.store.unit_of_work() as uow:
            cancelled = uow.cancel_reviews(run_id, by, now)
            run.status = "failed"
            run.error = f"cancelled by {by}" + (f": {reason}" if reason else "")
            run.finished_at = run.updated_at = now
            batch = WriteBatch(
                runs={run.id: run},
                events=[
                    Event(
                        kind="run.cancelled",
                        run_id=run.id,
                        actor=by,
                        at=now,
                        data={"reason": reason, "reviews": cancelled},
                    )
                ],
            )
            uow.write(batch)
        return run.result_model()

    def recover(self) -> list[RunResult]:
        """Continue runs a crashed process left in ``running`` (committed mid-way)."""
        out = []
        for run_id in self.store.run_ids_by_status("running"):
            run = _Run.of(self.store.load_run(run_id))
            wf = self.workflow(run.workflow_id, run.workflow_version)
            now = self.clock()
            batch = WriteBatch()
            self._advance(run, wf, batch, now)
            self._commit(batch)
            out.append(run.result_model())
        return out

    # ------------------------------------------------------------ reads

    def get_run(self, run_id: str) -> RunResult:
        run = _Run.of(self.store.load_run(run_id))
        if run.status == "succeeded":
            run.steps = self.store.run_outputs(run_id)
        if run.status == "waiting":
            pending = self.store.pending_review_for_run(run_id)
            if pending:
                run.review_id, run.team = pending["id"], pending["team"]
        return run.result_model()


_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


@atexit.register
def _flush_engines() -> None:
    """At exit, apply what was recorded (the applier is a daemon thread)."""
    for engine in list(_ENGINES):
        with contextlib.suppress(Exception):
            engine.flush(timeout=60)


def _clone(value: Any) -> Any:
    """A deep copy of run data (JSON-like), several times faster than copy.deepcopy."""
    try:
        return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301 (own data)
    except Exception:  # something pickle cannot take: the slow way
        return copy.deepcopy(value)


def _settle_row(review_id: str, by: str, at: datetime, decision: Decision) -> Settlement:
    """How a review is marked when a person's decision settles it."""
    return Settlement(
        id=review_id,
        status="decided",
        decided_by=by,
        decided_at=at,
        action=decision.action,
        data=decision.data or None,
        reason=decision.reason,
        note=decision.note,
        rating=decision.rating,
    )


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds") + "Z"


def _check_action(claim: Claim, node: CompiledNode, decision: Decision) -> None:
    if decision.action not in claim.actions:
        raise DecisionError(
            f"review {claim.id} ({claim.kind} at node {node.id}) cannot take "
            f"{decision.action!r}; allowed: {', '.join(claim.actions)}"
        )
    if decision.action == "escalate" and not (
        decision.team or getattr(node.params, "escalate_to", None)
    ):
        raise DecisionError("escalate needs a team to send the review to (--team)")


def _pending(claim: Claim) -> PendingReview:
    return PendingReview(
        id=claim.id,
        kind=claim.kind,
        team=claim.team,
        reason_codes=list(claim.reason_codes),
        form=claim.form,
        actions=list(claim.actions),
    )


def _feedback_rows(
    run: _Run,
    wf: Workflow,
    node: CompiledNode,
    claim: Claim,
    decision: Decision,
    by: str,
    output: dict[str, Any],
    steps_before: dict[str, Any],
    item_before: dict[str, Any],
    now: datetime,
) -> list[dict[str, Any]]:
    """Training data: what the AI said next to what the person said."""
    rows = []

    def row(target: str | None, path: str | None, ai: Any, human: Any) -> dict[str, Any]:
        ai_out = steps_before.get(target) if target else None
        return {
            "id": new_id("fb"),
            "run_id": run.id,
            "review_id": claim.id,
            "workflow_id": wf.id,
            "checkpoint_id": node.id,
            "node_id": target,
            "path": path,
            "input": item_before,
            "ai_output": ai,
            "human_output": human,
            "reviewer": by,
            "action": decision.action,
            "reason": decision.reason,
            "note": decision.note,
            "rating": decision.rating,
            "model": (ai_out or {}).get("model") if isinstance(ai_out, dict) else None,
            "model_version": (ai_out or {}).get("model_version")
            if isinstance(ai_out, dict)
            else None,
            "created_at": now,
        }

    for corr in output.get("corrections") or []:
        rows.append(row(corr["node"], corr["path"], corr["before"], corr["after"]))
    if rows:
        return rows
    of = getattr(node.params, "of", None)
    if of and decision.action in ("approve", "reject"):
        ai = steps_before.get(of)
        rows.append(row(of, None, ai, ai if decision.action == "approve" else None))
    for shown in getattr(node.params, "show", None) or []:
        if isinstance(shown, str) and shown in steps_before:
            ai = steps_before.get(shown)
            rows.append(row(shown, None, ai, ai if decision.action == "accept" else None))
    return rows
