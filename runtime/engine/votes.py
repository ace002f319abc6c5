"""Votes on multi-approver reviews: each person's vote is recorded, the closing one settles.

A review whose checkpoint has an ``approvers`` policy other than ``first``
(``runtime.nodes._approvers``) is not decided by the first answer: each answer is a vote,
its own row (``review_votes``) and its own audit event (``review.voted``). The review stays
pending until the policy closes it; the closing vote then settles it through the path
every decision shares (:meth:`Decisions.write_settled`), exactly once.

Votes on one review are serialised by holding the review (status ``voting``) while a vote
is checked and written: a second voter waits for the hold (briefly) and then sees the
votes before theirs, so two closing votes cannot both close it: the later one finds the
review decided and is refused naming who decided it and when.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from runtime.domain import Claim, Event, WriteBatch, refusal
from runtime.engine.catalog import WorkflowCatalog
from runtime.engine.claims import ClaimCache
from runtime.engine.decisions import Decisions, Ready, settle_row
from runtime.engine.results import BatchItemError, DecisionReceipt, Progress, RunResult
from runtime.engine.users import UserAccess
from runtime.engine.working import EngineConfig, iso
from runtime.errors import DecisionError, LoopgateError, RunError, VoteError
from runtime.nodes._approvers import (
    VOTE_ACTIONS,
    ApproverPolicy,
    Tally,
    Vote,
    may_vote_in,
    tally,
    team_members,
)
from runtime.nodes._review import ReviewCheckpoint
from runtime.nodes.base import Decision
from runtime.store.contract import Store

HOLD_WAIT = 10.0
"""Seconds a vote waits for another vote on the same review to be written."""


class Votes:
    """Casts votes on multi-approver reviews and settles a review with its closing vote.

    Args:
        store: The store (holds, votes, units of work).
        config: The engine's tunables (its clock).
        catalog: Compiled workflows (a checkpoint's policy).
        users: The access checks.
        decisions: The checks and the settle-and-write step every decision shares.
        claims: The claim cache.
    """

    def __init__(
        self,
        store: Store,
        config: EngineConfig,
        catalog: WorkflowCatalog,
        users: UserAccess,
        decisions: Decisions,
        claims: ClaimCache,
    ):
        self._store = store
        self._config = config
        self._catalog = catalog
        self._users = users
        self._decisions = decisions
        self._claims = claims

    # ------------------------------------------------------------ which reviews

    def policy_of(self, claim: Claim) -> ApproverPolicy | None:
        """The review's multi-approver policy, or None when the first answer decides."""
        node = self._catalog.get(claim.workflow_id, claim.workflow_version).nodes.get(claim.node_id)
        if node is None or not isinstance(node.type, ReviewCheckpoint):
            return None
        return node.type.approver_policy(node.params)

    def applies(self, review_id: str) -> bool:
        """Whether a review is decided by votes (its checkpoint has a policy).

        Raises:
            NotFoundError: no such review.
        """
        claim = self._claims.get(review_id) or self._store.review_claim(review_id)
        return self.policy_of(claim) is not None

    # ------------------------------------------------------------ one vote

    def cast(self, review_id: str, decision: Decision | dict[str, Any], *, by: str) -> RunResult:
        """Record ``by``'s vote; when it closes the review, settle it and run on.

        Returns:
            Where the run stands: still waiting (``votes`` says what is still needed) or
            moved on by the closing vote.

        Raises:
            ReviewNotPendingError: the review is closed (names who decided it and when).
            VoteError: ``by`` voted on it already (names when), or is not among the
                people whose vote it waits for now.
            AccessError: ``by`` may not decide it (role, team, separation of duties).
            DecisionError: not approve or reject, or a vote that does not fit.
        """
        if not isinstance(decision, Decision):
            decision = Decision.model_validate(decision)
        self._users.authorize_decider(by)
        if decision.action not in VOTE_ACTIONS:
            raise DecisionError(
                f"review {review_id} needs several approvers: vote approve or reject; "
                f"{decision.action} is not a vote (nothing was changed)"
            )
        self._hold(review_id, by)
        try:
            return self._cast_held(review_id, decision, by)
        finally:
            self._store.release_reviews([review_id])
            self._claims.forget([review_id])

    def receipt(self, review_id: str, decision: Decision | dict[str, Any], *, by: str) -> Any:
        """Cast a vote and answer as :meth:`Engine.record_decision` does (a receipt)."""
        result = self.cast(review_id, decision, by=by)
        action = decision.action if isinstance(decision, Decision) else decision.get("action")
        return DecisionReceipt(
            review_id=review_id,
            run_id=result.run_id,
            action=str(action),
            decided_by=by,
            decided_at=self._config.clock(),
        )

    def _hold(self, review_id: str, by: str) -> None:
        """Hold the review for this vote, waiting while another vote on it is written."""
        give_up = time.monotonic() + HOLD_WAIT
        while True:
            held, busy = self._store.hold_reviews(
                [review_id],
                status="voting",  # type: ignore[arg-type]
                by=by,
                at=self._config.clock(),
            )
            if held:
                return
            why = busy[review_id]
            if why.status != "voting":
                raise why  # being decided, expired or cancelled right now
            if time.monotonic() > give_up:
                raise DecisionError(
                    f"review {review_id} is busy with {why.decided_by}'s vote; try again "
                    "(nothing was changed)"
                )
            time.sleep(0.005)

    def _cast_held(self, review_id: str, decision: Decision, by: str) -> RunResult:
        """Check and write one vote on a review this thread holds."""
        claim = self._store.review_claim(review_id)  # fresh: the cached one may be old
        if claim.status != "pending":
            raise refusal(review_id, claim)
        policy = self.policy_of(claim)
        if policy is None:
            raise DecisionError(f"review {review_id} is not decided by votes")
        votes = self.votes(review_id)
        mine = next((v for v in votes if v.voter == by), None)
        if mine is not None:
            raise VoteError(
                f"{by} already voted {mine.action} on review {review_id} at {iso(mine.at)}; "
                "each person votes once (nothing was changed)"
            )
        members = self.members(policy)
        before = tally(policy, votes, members)
        group = policy.groups()[before.step]
        user = self._users.user(by) or {}
        if not may_vote_in(group, by, user.get("teams") or []):
            raise VoteError(
                f"{by} may not vote on review {review_id} now: it waits for "
                f"{before.remaining} (nothing was changed)"
            )
        self._decisions.check(claim, decision, by)  # role, team, duties; the vote fits
        now = self._config.clock()
        vote = Vote(by, decision.action, now, before.step, decision.note, decision.reason)
        after = tally(policy, [*votes, vote], members)
        voted = Event(
            kind="review.voted",
            run_id=claim.run_id,
            review_id=review_id,
            node_id=claim.node_id,
            actor=by,
            at=now,
            data={
                "action": vote.action,
                "step": vote.step,
                "approvals": after.done,
                "needed": after.total,
                "outcome": after.outcome,
                **({"note": vote.note} if vote.note else {}),
                **({"reason": vote.reason} if vote.reason else {}),
            },
        )
        row = {
            "voter": by,
            "action": vote.action,
            "at": now,
            "step": vote.step,
            "note": vote.note,
            "reason": vote.reason,
        }
        if after.outcome is None:
            return self._record(claim, policy, before, after, voted, row)
        return self._close(claim, decision, by, now, voted, row)

    def _record(
        self,
        claim: Claim,
        policy: ApproverPolicy,
        before: Tally,
        after: Tally,
        voted: Event,
        row: dict[str, Any],
    ) -> RunResult:
        """Write a vote that leaves the review open (moving a sequence on a step)."""
        batch = WriteBatch(events=[voted])
        team, assignee = claim.team, claim.assignee
        if after.step != before.step:
            nxt = policy.groups()[after.step]
            team = nxt.team  # a group of named people: no team, they are checked by name
            assignee = nxt.of[0] if len(nxt.of) == 1 else None
            batch.events.append(
                Event(
                    kind="review.assigned",
                    run_id=claim.run_id,
                    review_id=claim.id,
                    node_id=claim.node_id,
                    actor="system",
                    at=voted.at,
                    data={
                        "team": team,
                        "assignee": assignee,
                        "previous_team": claim.team,
                        "previous": claim.assignee,
                        "step": after.step,
                        "note": f"step {before.step + 1} approved; now {nxt.label()}",
                    },
                )
            )
        with self._store.unit_of_work() as uow:
            if not uow.add_vote(claim.id, **row):
                raise VoteError(f"{row['voter']} already voted on review {claim.id}")
            if (team, assignee) != (claim.team, claim.assignee):
                uow.route_review(claim.id, team=team, assignee=assignee)
            uow.write(batch)
        return RunResult(
            run_id=claim.run_id,
            workflow_id=claim.workflow_id,
            workflow_version=claim.workflow_version,
            status="waiting",
            waiting_on=claim.node_id,
            review_id=claim.id,
            team=team,
            step_count=claim.run.step_count,
            votes=f"vote recorded ({after.done} of {after.total} approvals); {after.remaining}",
        )

    def _close(
        self,
        claim: Claim,
        decision: Decision,
        by: str,
        now: datetime,
        voted: Event,
        row: dict[str, Any],
    ) -> RunResult:
        """The closing vote: settle the review with it and run the workflow on."""
        sub = WriteBatch(events=[voted])
        run = self._decisions.resume(claim, decision, by, sub, now)
        refused: list[RunError] = []

        def lost(_: Ready, exc: RunError) -> None:
            refused.append(exc)

        def add_vote(uow: Any) -> None:
            if not refused:
                uow.add_vote(claim.id, **row)

        self._decisions.write_settled(
            [Ready(settle_row(claim.id, by, now, decision), sub, run)],
            WriteBatch(),
            lost=lost,
            also=add_vote,
        )
        if refused:
            raise refused[0]
        return run.result_model()

    # ------------------------------------------------------------ reads

    def votes(self, review_id: str) -> list[Vote]:
        """The votes on a review, oldest first."""
        return [
            Vote(r["voter"], r["action"], r["voted_at"], r["step"], r["note"], r["reason"])
            for r in self._store.review_votes([review_id]).get(review_id, [])
        ]

    def members(self, policy: ApproverPolicy) -> dict[str, list[str]]:
        """Per team the policy names, the enabled reviewers and admins in it."""
        if not any(g.team for g in policy.groups()):
            return {}
        return team_members(policy, self._store.list_users())

    # ------------------------------------------------------------ many

    def decide_many(
        self,
        review_ids: list[str],
        decision: Decision | dict[str, Any],
        *,
        by: str,
        progress: Progress | None = None,
    ) -> list[RunResult | BatchItemError]:
        """A bulk decision: on multi-approver reviews it is ``by``'s vote, on the others
        the decision itself (group-committed by :meth:`Decisions.decide_many`).

        Returns:
            One entry per review, in order (a BatchItemError with its index when refused).
        """
        if not isinstance(decision, Decision):
            decision = Decision.model_validate(decision)
        claims = self._store.review_claims(review_ids)
        voted = {
            i for i, rid in enumerate(review_ids) if rid in claims and self.policy_of(claims[rid])
        }
        if not voted:
            return self._decisions.decide_many(review_ids, decision, by=by, progress=progress)
        plain = [i for i in range(len(review_ids)) if i not in voted]
        out: dict[int, RunResult | BatchItemError] = {}
        if plain:
            results = self._decisions.decide_many([review_ids[i] for i in plain], decision, by=by)
            for i, r in zip(plain, results, strict=True):
                out[i] = (
                    BatchItemError(index=i, error=r.error) if isinstance(r, BatchItemError) else r
                )
        seen: set[str] = set()
        for i in sorted(voted):
            rid = review_ids[i]
            try:
                if rid in seen:  # listed twice: one vote
                    raise VoteError(f"{by} already voted on review {rid} (listed twice)")
                seen.add(rid)
                out[i] = self.cast(rid, decision, by=by)
            except LoopgateError as exc:
                out[i] = BatchItemError(index=i, error=str(exc))
            if progress:
                progress(len(out), len(review_ids))
        return [out[i] for i in sorted(out)]
