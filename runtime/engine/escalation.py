"""Escalation chains: the sweep walks each waiting review's steps as they fall due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from runtime import access
from runtime.domain import DueReview, DueStep, Event, WriteBatch
from runtime.engine.catalog import WorkflowCatalog
from runtime.engine.claims import ClaimCache
from runtime.engine.delegation import Delegations, delegated_event
from runtime.engine.results import SweepReport
from runtime.engine.stepper import PRIORITY_UP
from runtime.engine.users import UserAccess
from runtime.engine.working import SYSTEM
from runtime.errors import AccessError, LoopgateError
from runtime.ids import new_id
from runtime.nodes._chain import TERMINAL, EscalationStep, addresses, step_due
from runtime.settings import review_link
from runtime.store.contract import Store

_EVENT = {
    "remind": "review.reminded",
    "reassign": "review.reassigned",
    "escalate": "review.escalated",
}
_REPORTED = {"remind": "reminded", "reassign": "reassigned", "escalate": "escalated"}


class EscalationWalker:
    """Applies the due steps of escalation chains, each once, as ``system``.

    A review's row keeps the index of the next step (``escalation_step``) and when it is
    due (``next_step_at``). A remind, reassign or escalate step is written with a
    conditional update on that index (:meth:`~runtime.store.contract.Store.advance_review`)
    together with its audit event (and, for a remind, its email in the outbox): of two
    sweeps racing, one applies it and the other writes nothing. A terminal step goes
    through the deadline path (``expire``), which holds the review and settles it only
    while pending, so it too happens once.

    Args:
        store: The store.
        catalog: Compiled workflows (the chain is the node's ``escalation`` parameter).
        users: Checks a step's assignee may decide reviews.
        delegations: Gives an assignee's reviews to their delegate.
        claims: The claim cache (a changed review's claim is dropped).
        expire: Applies terminal steps like passed deadlines (the deadline sweeper's).
    """

    def __init__(
        self,
        store: Store,
        catalog: WorkflowCatalog,
        users: UserAccess,
        delegations: Delegations,
        claims: ClaimCache,
        expire: Callable[[list[DueReview], datetime, SweepReport], None],
    ):
        self._store = store
        self._catalog = catalog
        self._users = users
        self._delegations = delegations
        self._claims = claims
        self._expire = expire

    def sweep(self, now: datetime, report: SweepReport) -> None:
        """Apply every step due at ``now``; a review late by several steps takes them in
        order in this sweep."""
        held = set(self._store.held_review_ids())
        terminal: list[DueReview] = []
        for due in self._store.due_steps(now):
            if due.id in held:  # someone is deciding it right now
                continue
            try:
                steps, hours = self._chain(due)
                self._walk(due, steps, hours, now, report, terminal)
            except LoopgateError as exc:
                report.failed.append(f"{due.id}: {exc}")
        if terminal:
            self._expire(terminal, now, report)

    def _chain(self, due: DueStep) -> tuple[list[EscalationStep], str | None]:
        """The review's checkpoint's chain and business hours (from its workflow version)."""
        wf = self._catalog.get(due.workflow_id, due.workflow_version)
        node = wf.nodes.get(due.node_id)
        if node is None:
            return [], None
        steps = list(getattr(node.params, "escalation", None) or [])
        return steps, getattr(node.params, "business_hours", None)

    def _walk(
        self,
        due: DueStep,
        steps: list[EscalationStep],
        hours: str | None,
        now: datetime,
        report: SweepReport,
        terminal: list[DueReview],
    ) -> None:
        index = due.escalation_step
        team, assignee, priority = due.team, due.assignee, due.priority
        while True:
            at = step_due(due.created_at, steps, index, hours)
            if at is None or at > now:
                return
            step = steps[index]
            if step.action in TERMINAL:
                terminal.append(
                    DueReview(
                        id=due.id,
                        run_id=due.run_id,
                        node_id=due.node_id,
                        kind="",
                        team=team,
                        on_timeout=step.action,
                        escalate_to=None,
                        deadline=at,
                    )
                )
                return
            batch = WriteBatch()
            new_team, new_assignee, new_priority, delegated_from = team, assignee, priority, None
            data: dict[str, Any] = {"step": index + 1, "due": at.isoformat()}
            if step.note:
                data["note"] = step.note
            if step.action == "remind":
                data.update(team=team, assignee=assignee)
                to = addresses(step.to)
                if to:
                    data["to"] = to
                    batch.outbox.append(_reminder(due, step, index, to, now))
            else:
                problem = self._cannot_decide(step.assignee)
                if problem:
                    report.failed.append(f"{due.id}: step {index + 1} skipped: {problem}")
                    data["skipped"] = problem
                else:
                    new_team = step.team or team
                    new_assignee = step.assignee
                    if step.action == "escalate":
                        new_priority = PRIORITY_UP.get(priority, "high")
                    delegate = (
                        self._delegations.delegate_of(new_assignee, now) if new_assignee else None
                    )
                    if delegate:
                        delegated_from, new_assignee = new_assignee, delegate
                        batch.events.append(
                            delegated_event(
                                due.run_id, due.id, due.node_id, delegated_from, delegate, now
                            )
                        )
                    data.update(
                        team=new_team,
                        assignee=new_assignee,
                        priority=new_priority,
                        previous={"team": team, "assignee": assignee, "priority": priority},
                    )
            event = Event(
                kind=_EVENT[step.action],
                run_id=due.run_id,
                review_id=due.id,
                node_id=due.node_id,
                actor=SYSTEM,
                at=now,
                data=data,
            )
            batch.events.insert(0, event)
            won = self._store.advance_review(
                due.id,
                index,
                step=index + 1,
                next_step_at=step_due(due.created_at, steps, index + 1, hours),
                team=new_team,
                assignee=new_assignee,
                priority=new_priority,
                delegated_from=delegated_from,
                note=step.note if step.action != "remind" else None,
                batch=batch,
            )
            self._claims.forget([due.id])
            if not won:  # another sweep took this step (or a decision closed the review)
                return
            getattr(report, _REPORTED[step.action]).append(due.id)
            team, assignee, priority = new_team, new_assignee, new_priority
            index += 1

    def _cannot_decide(self, user: str | None) -> str | None:
        """Why ``user`` may not hold reviews (None: they may, or no user is named)."""
        if user is None:
            return None
        try:
            access.authorize_decider(self._users.user(user), user)
        except AccessError as exc:
            return str(exc)
        return None


def _reminder(
    due: DueStep, step: EscalationStep, index: int, to: list[str], now: datetime
) -> dict[str, Any]:
    """The outbox row of a remind step's email."""
    who = due.assignee or (f"team {due.team}" if due.team else "its reviewers")
    link = review_link(due.id)
    body = (
        f"Review {due.id} (node {due.node_id}, run {due.run_id}) has waited since "
        f"{due.created_at:%Y-%m-%d %H:%M} UTC for {who}."
        + (f"\n\n{step.note}" if step.note else "")
        + (f"\n\nOpen it: {link}" if link else "")
    )
    return {
        "id": new_id("msg"),
        "run_id": due.run_id,
        "node_id": due.node_id,
        "channel": "email",
        "recipient": ", ".join(to),
        "subject": f"Reminder: review {due.id} is waiting ({due.node_id})",
        "body": body,
        "status": "pending",
        "attempts": 0,
        "last_error": None,
        "idempotency_key": f"{due.id}:escalation:{index}",
        "created_at": now,
        "sent_at": None,
    }
