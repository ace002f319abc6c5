"""Test runs from the Builder: a private in-memory store, so nothing real is touched."""

from __future__ import annotations

from typing import Any

from runtime import Engine, Store, WorkflowSpec
from runtime.engine import RunResult
from runtime.nodes.base import Decision
from runtime.services import default_services

TESTER = "tester"
"""Who decides the test runs' reviews in the sandbox (an admin there)."""
STARTER = "sandbox"
"""Who starts the test runs in the sandbox: not the tester, so separation of duties (the
starter never decides) holds here as in the real store, without self-approval."""


class Sandbox:
    """An engine on a throwaway in-memory database; the tester may decide every review.

    Test runs are started by :data:`STARTER` (an operator) and decided by :data:`TESTER`
    (an admin): two accounts of this throwaway store only, so the designer follows their
    test run to its end while the rule that a run's starter does not decide it stays intact.
    """

    def __init__(self) -> None:
        self.store = Store(":memory:")
        services = default_services(self.store)
        services.settings["dry_run"] = True  # webhooks report what they would send
        self.engine = Engine(self.store, services=services)
        self.store.create_user(TESTER, password_hash=None, roles=["admin"], teams=[])
        self.store.create_user(STARTER, password_hash=None, roles=["operator"], teams=[])

    def start(self, spec: WorkflowSpec, item: dict[str, Any]) -> RunResult:
        """Save the spec here (unsaved edits included) and run one item through it.

        Args:
            spec: the workflow on the canvas.
            item: the test item.

        Returns:
            The run's result: finished, failed, or waiting for a review.

        Raises:
            SpecError: the workflow has errors.
            ItemError: the item does not fit its input.
        """
        return self.engine.start(spec, item, by=STARTER)

    def decide(self, review_id: str, decision: Decision) -> RunResult:
        """Decide a test run's review as the tester and run on to the next stop."""
        return self.engine.decide(review_id, decision, by=TESTER)

    def review(self, review_id: str) -> dict[str, Any]:
        """The review as a reviewer would see it."""
        return self.store.get_review(review_id)

    def path(self, run_id: str) -> list[str]:
        """The nodes a run went through, in order (waiting node last)."""
        events = self.store.run_events(run_id)
        nodes = [e["node_id"] for e in events if e["kind"] in ("step", "audit")]
        run = self.store.get_run(run_id)
        if run["status"] in ("waiting", "failed") and run["current_node"]:
            nodes.append(run["current_node"])
        return nodes

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        """The run's events in a form a table can show."""
        rows = []
        for ev in self.store.run_events(run_id):
            data = ev["data"] or {}
            rows.append(
                {
                    "event": ev["kind"],
                    "node": ev["node_id"] or "",
                    "by": ev["actor"] or "",
                    "branch": data.get("branch") or "",
                    "output": data.get("output") if ev["kind"] in ("step", "audit") else data,
                }
            )
        return rows
