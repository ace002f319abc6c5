"""First-start content: the example workflows, demo accounts and a few waiting reviews."""

from __future__ import annotations

from pathlib import Path

from runtime.auth import add_user
from runtime.engine import Engine
from runtime.items import read_items
from runtime.spec import load_yaml

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
DEMO_PASSWORD = "loopgate-demo"  # noqa: S105 - the documented demo password of a fresh install
DEMO_USERS = [
    ("ada", "Ada (admin)", ["admin"], []),
    ("dev", "Dev (designer)", ["designer", "operator"], []),
    (
        "rae",
        "Rae (reviewer)",
        ["reviewer"],
        ["managers", "triage", "finance", "editors", "sales", "security", "support"],
    ),
    ("rio", "Rio (risk reviewer)", ["reviewer"], ["risk"]),
    ("fay", "Fay (finance reviewer)", ["reviewer"], ["finance"]),  # a quorum needs two
    ("aud", "Aud (auditor)", ["auditor"], []),
    ("ops", "Ops (operator)", ["operator"], []),
]
DEMO_STARTER = "ops"
"""Who starts the demo runs: an operator, so the reviewers (not the starter) decide them."""


def needs_seed(engine: Engine) -> bool:
    """True for a brand-new database (no workflows and no users yet)."""
    return not engine.store.list_workflows() and not engine.store.list_users()


def seed_demo(
    engine: Engine, examples: Path = EXAMPLES_DIR, *, password: str = DEMO_PASSWORD
) -> dict:
    """Save every example workflow, create the demo accounts and start each example's items
    (as the operator ``ops``: whoever starts a run does not decide its review).

    Returns:
        Counts of what was created.
    """
    for name, display, roles, teams in DEMO_USERS:
        add_user(
            engine.store, name, roles=roles, teams=teams, password=password, display_name=display
        )
    engine.forget_users()
    workflows = runs = 0
    for path in sorted(examples.glob("*.yaml")):
        wf = engine.save_workflow(
            load_yaml(path), by="ada", message="example shipped with Loopgate"
        )
        workflows += 1
        items_file = examples / "items" / f"{path.stem}.jsonl"
        if items_file.exists():
            items, _ = read_items(items_file)
            runs += len(engine.start_many(wf, items, by=DEMO_STARTER))
    return {"workflows": workflows, "runs": runs, "users": len(DEMO_USERS)}
