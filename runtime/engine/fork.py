"""Forking a past run: a new run from the run's data at a checkpoint it stopped at, with
another decision there.

What a run looked like when it stopped at a checkpoint is kept with the review
(``ReviewRecord.snapshot``, the store's ``checkpoint_states``), so a fork starts from
exactly that: the item, the step outputs, the last decision and the visit counts. The new
run gets its own review at the checkpoint, decided at once by the forker through the same
checks as any decision (the forker may start runs, may decide that review, is not the
original run's starter unless the checkpoint allows self-approval, and the node type
accepts the decision), and then runs on. Its side effects (messages, webhooks, record
writes) carry keys derived from the new run's id, so they happen again, once, for the new
run only. Both runs get a ``run.forked`` audit event in the same unit of work; nothing of
the original run's rows changes.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from runtime.compiler import CompiledNode, Workflow
from runtime.domain import Claim, Event, ReviewRecord, RunRecord, WriteBatch
from runtime.engine.catalog import WorkflowCatalog
from runtime.engine.claims import ClaimCache
from runtime.engine.decisions import settle_row
from runtime.engine.results import RunResult
from runtime.engine.stepper import Stepper
from runtime.engine.users import UserAccess
from runtime.engine.working import EngineConfig, clone
from runtime.errors import AccessError, DecisionError, NotFoundError, RunError, SpecError
from runtime.ids import new_review_id, new_run_id
from runtime.items import text_problems
from runtime.nodes._review import ReviewCheckpoint
from runtime.nodes.base import Decision
from runtime.store.contract import Store

FORK_ROLES = ("admin", "designer", "operator")
"""Who may fork runs (a fork starts a run); the forker must also be allowed to decide."""

FORKS_MIGRATION = "forks: the run's data at each checkpoint, and where each forked run came from"
"""The store migration since which each checkpoint's run data is kept."""


class ForkResult(BaseModel):
    """A forked run and where it came from.

    Attributes:
        run: where the new run stands.
        forked_from: the original run.
        node_id: the checkpoint it was forked at.
        review_id: the original run's review at that checkpoint.
        original: the original decision there (``status, by, at`` and what was decided),
            None while that review is still pending.
        decision: the fork's decision.
        forked_by: who forked (and decided).
        forked_at: when.
    """

    run: RunResult
    forked_from: str
    node_id: str
    review_id: str
    original: dict[str, Any] | None = None
    decision: dict[str, Any]
    forked_by: str
    forked_at: datetime


def as_decision(decision: Decision | dict[str, Any]) -> Decision:
    """A decision from its JSON form, refused in one line naming the field.

    Raises:
        DecisionError: not an object, an unknown field or a wrong value.
    """
    if isinstance(decision, Decision):
        return decision
    if not isinstance(decision, dict):
        raise DecisionError('a decision is a JSON object like {"action": "approve"}')
    problems = text_problems(decision)
    if problems:
        raise DecisionError(f"the decision cannot be stored: {problems[0]}")
    try:
        return Decision.model_validate(decision)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "decision"
        raise DecisionError(f"the decision's {where}: {err['msg']}") from None


def stop_list(reviews: list[dict[str, Any]]) -> str:
    """The checkpoints a run stopped at, for messages: ``node (review, status)``."""
    shown = [f"{r['node_id']} ({r['id']}, {r['status']})" for r in reviews[-8:]]
    more = f" and {len(reviews) - 8} earlier" if len(reviews) > 8 else ""
    return ", ".join(shown) + more if shown else "none (no checkpoint stopped it)"


class RunForker:
    """Starts new runs from past runs' checkpoints with another decision.

    Args:
        store: The store (checkpoint data, reviews, the unit of work).
        config: The engine's tunables (the clock).
        catalog: Compiled workflows by version.
        users: The access checks.
        stepper: Runs the new run on from the checkpoint.
        claims: The claim cache (remembers the new run's next review).
    """

    def __init__(
        self,
        store: Store,
        config: EngineConfig,
        catalog: WorkflowCatalog,
        users: UserAccess,
        stepper: Stepper,
        claims: ClaimCache,
    ):
        self._store = store
        self._config = config
        self._catalog = catalog
        self._users = users
        self._stepper = stepper
        self._claims = claims

    def fork(
        self, run_id: str, at: str, decision: Decision | dict[str, Any], *, by: str
    ) -> ForkResult:
        """Start a new run from ``run_id``'s data at checkpoint ``at`` (a node id: the
        latest stop there; or a review id of the run), decided there by ``by``.

        Raises:
            NotFoundError: no such run, node or review; the run's workflow version is gone.
            RunError: the node is no checkpoint, the run never stopped there, or its data
                there was not kept (a stop before the forks migration).
            AccessError: ``by`` may not start runs or may not decide that checkpoint.
            DecisionError: the checkpoint does not take the decision (nothing is written).
        """
        decision = as_decision(decision)
        self._users.authorize(by, roles=FORK_ROLES, what="fork runs")
        original = self._store.load_run(run_id)
        wf = self._workflow(original)
        review = self._review_at(original, wf, at)
        node = wf.nodes[review["node_id"]]
        state = self._state_at(original, review)
        now = self._config.clock()
        waiting, fresh = self._parts(original, wf, review, state, by, now)
        claim = Claim.of(fresh, waiting)
        self._check(claim, node, wf, original, decision, by, now)
        made = decision.model_dump(mode="json", exclude_none=True)
        before = self._original_decision(original.id, review)
        events = self._events(original, review["id"], fresh, before, made, by, now)
        batch = WriteBatch(reviews=[fresh], events=events)
        run = self._stepper.resume(claim, wf, decision, by, batch, now)
        run.is_new, run.created_at = True, now
        batch.runs[run.id] = run
        origin = {
            "run_id": run.id,
            "forked_from": original.id,
            "node_id": node.id,
            "review_id": review["id"],
            "original": before,
            "decision": made,
            "forked_by": by,
            "forked_at": now,
        }
        with self._store.unit_of_work() as uow:
            uow.write(batch)
            uow.settle([settle_row(fresh.id, by, now, decision)])
            uow.record_fork(origin)
        self._claims.remember(batch)
        self._claims.forget([fresh.id])  # decided in the same unit of work
        return ForkResult(run=run.result_model(), **origin)

    # ------------------------------------------------------------ finding the checkpoint

    def _workflow(self, original: RunRecord) -> Workflow:
        try:
            return self._catalog.get(original.workflow_id, original.workflow_version)
        except (NotFoundError, SpecError):
            raise NotFoundError(
                f"run {original.id} ran {original.workflow_id} v{original.workflow_version}, "
                "which no longer exists in this database (or is not runnable); a fork runs "
                "the version its run ran, so this run cannot be forked"
            ) from None

    def _review_at(self, original: RunRecord, wf: Workflow, at: str) -> dict[str, Any]:
        """The review the fork starts from (its full row)."""
        reviews = self._store.run_reviews(original.id)
        where = f"run {original.id} ({wf.id} v{wf.version})"
        node = wf.nodes.get(at)
        if node is None:
            picked = [r for r in reviews if r["id"] == at]
            if not picked:
                shown = at if len(at) <= 80 else at[:80] + "…"
                raise NotFoundError(
                    f"{where} has no node or review {shown!r}; fork at a checkpoint it stopped "
                    f"at: {stop_list(reviews)}"
                )
        else:
            if not node.type.decision_actions:
                raise RunError(
                    f"node {at} of {where} is a {node.type.type_name}, not a checkpoint a "
                    f"person decides; fork at a checkpoint it stopped at: {stop_list(reviews)}"
                )
            picked = [r for r in reviews if r["node_id"] == at]
            if not picked:
                passed = at in self._store.run_outputs(original.id)
                what = "passed" if passed else "never reached"
                why = " without stopping for a person" if passed else ""
                raise RunError(
                    f"{where} {what} checkpoint {at}{why}; fork at a checkpoint it stopped "
                    f"at: {stop_list(reviews)}"
                )
        return self._store.get_review(picked[-1]["id"])

    def _state_at(self, original: RunRecord, review: dict[str, Any]) -> dict[str, Any]:
        """The run's data when it stopped at the review: kept with the review, or (for a
        review made before that was kept, still pending) the waiting run's own."""
        state = self._store.checkpoint_state(review["id"])
        if state is not None:
            return state
        if (
            review["status"] == "pending"
            and original.status == "waiting"
            and original.current_node == review["node_id"]
        ):
            return {
                "item": original.item,
                "steps": original.steps,
                "review": original.review,
                "visits": original.visits,
                "step_count": original.step_count,
            }
        raise RunError(
            f"run {original.id} stopped at {review['node_id']} (review {review['id']}) before "
            f"Loopgate kept each checkpoint's run data (the store migration {FORKS_MIGRATION!r}); "
            "a fork can start from checkpoints runs reach from now on, or from the one a run "
            "waits at now"
        )

    def _original_decision(self, run_id: str, review: dict[str, Any]) -> dict[str, Any] | None:
        """What was decided at the review, from its audit event (None: still pending)."""
        if review["status"] == "pending":
            return None
        out: dict[str, Any] = {"status": review["status"], "by": review["decided_by"]}
        if review["decided_at"] is not None:
            out["at"] = review["decided_at"].isoformat(timespec="seconds") + "Z"
        for ev in reversed(self._store.run_events(run_id)):
            if ev["review_id"] == review["id"] and ev["kind"] in (
                "review.decided",
                "review.expired",
            ):
                out.update({k: v for k, v in (ev["data"] or {}).items() if k != "review_id"})
                break
        return out

    # ------------------------------------------------------------ the new run

    def _parts(
        self,
        original: RunRecord,
        wf: Workflow,
        review: dict[str, Any],
        state: dict[str, Any],
        by: str,
        now: datetime,
    ) -> tuple[RunRecord, ReviewRecord]:
        """The new run as it waits at the checkpoint, and its review there."""
        item, steps, last, visits = clone(
            (state["item"], state["steps"], state["review"], state["visits"])
        )
        run = RunRecord(
            id=new_run_id(),
            workflow_id=original.workflow_id,
            workflow_version=original.workflow_version,
            status="waiting",
            current_node=review["node_id"],
            item=item,
            steps=steps,
            review=last,
            visits=visits,
            step_count=state["step_count"],
            created_at=now,
            updated_at=now,
            started_by=by,
            is_new=True,
        )
        fresh = ReviewRecord(
            id=new_review_id(),
            run_id=run.id,
            workflow_id=wf.id,
            workflow_version=wf.version or 0,
            node_id=review["node_id"],
            kind=review["kind"],
            team=review["team"],
            assignee=None,
            priority=review["priority"],
            instructions=review["instructions"] or "",
            note=review["note"],
            reason_codes=list(review["reason_codes"] or []),
            actions=list(review["actions"] or []),
            form=review["form"] or [],
            display=review["display"] or {},
            visits=review["visits"],
            deadline=None,
            on_timeout=None,
            escalate_to=review["escalate_to"],
            escalated_from=None,
            created_at=now,
            options=list(review.get("options") or []),
            snapshot=clone(state),  # a fork of the fork may start here too
        )
        return run, fresh

    def _check(
        self,
        claim: Claim,
        node: CompiledNode,
        wf: Workflow,
        original: RunRecord,
        decision: Decision,
        by: str,
        now: datetime,
    ) -> None:
        """The checks of a real decision: may ``by`` decide this checkpoint (separation of
        duties against the original run's starter), and does the node take it."""
        allow = isinstance(node.type, ReviewCheckpoint) and node.type.allows_self_approval(
            node.params
        )
        as_original = dataclasses.replace(
            claim, run=dataclasses.replace(claim.run, started_by=original.started_by)
        )
        try:
            self._users.check_may_decide(by, as_original, allow_self_approval=allow)
        except AccessError as exc:
            raise AccessError(
                f"{exc}; a fork decides the checkpoint again, so the forker must be allowed "
                "to decide it"
            ) from None
        self._stepper.validate(claim, wf, decision, by, now)

    @staticmethod
    def _events(
        original: RunRecord,
        review_id: str,
        fresh: ReviewRecord,
        before: dict[str, Any] | None,
        made: dict[str, Any],
        by: str,
        now: datetime,
    ) -> list[Event]:
        """The fork's audit events: on the original run, on the new one, and the new
        run's review at the checkpoint."""
        node, new = fresh.node_id, fresh.run_id
        return [
            Event(
                kind="run.forked",
                run_id=original.id,
                review_id=review_id,
                node_id=node,
                actor=by,
                at=now,
                data={"into": new, "decision": made},
            ),
            Event(
                kind="run.started",
                run_id=new,
                actor=by,
                at=now,
                data={
                    "workflow": original.workflow_id,
                    "version": original.workflow_version,
                    "forked_from": original.id,
                    "at": node,
                },
            ),
            Event(
                kind="run.forked",
                run_id=new,
                node_id=node,
                actor=by,
                at=now,
                data={"from": original.id, "original": before, "decision": made},
            ),
            Event(
                kind="review.requested",
                run_id=new,
                review_id=fresh.id,
                node_id=node,
                at=now,
                data={
                    "team": fresh.team,
                    "priority": fresh.priority,
                    "kind": fresh.kind,
                    "forked_from": original.id,
                },
            ),
        ]
