"""Security item 1: separation of duties.

The attack: a designer with no reviewer role and no team starts a run of the guarded
account deletion and approves its security review themselves (engine, CLI and API). Now
deciding needs the reviewer (or admin) role and the review's team or assignment, and the
person who started a run never decides its review unless the checkpoint allows it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runtime.auth import add_user
from runtime.engine import Engine
from runtime.errors import AccessError
from runtime.seed import DEMO_STARTER, DEMO_USERS, seed_demo
from runtime.services import default_services
from runtime.spec import WorkflowSpec, parse_spec
from runtime.store import Store
from tests.e2e.clihelp import EXAMPLES, loopgate

DELETION = EXAMPLES / "account-deletion.yaml"
ITEM = {"customer_id": "C-9", "requested_by": "dev", "reason": "test"}

USERS = [
    ("ada", ["admin"], []),
    ("dev", ["designer", "operator"], []),
    ("ops", ["operator"], []),
    ("sec", ["reviewer"], ["security"]),
    ("boss", ["reviewer", "operator"], ["security"]),  # reviews security, may start runs
    ("rio", ["reviewer"], ["risk"]),
    ("aud", ["auditor"], []),
    ("old", ["reviewer", "admin"], ["security"]),
]


@pytest.fixture
def engine(tmp_path: Path):
    store = Store(tmp_path / "duties.duckdb")
    for name, roles, teams in USERS:
        add_user(store, name, roles=roles, teams=teams)
    store.update_user("old", disabled=True)
    eng = Engine(store, services=default_services(store))
    yield eng
    store.close()


def _spec(**params) -> WorkflowSpec:
    spec = yaml.safe_load(DELETION.read_text())
    node = next(n for n in spec["nodes"] if n["id"] == "security_review")
    node["params"].update(params)
    return parse_spec(spec)


def _waiting(engine: Engine, by: str, **params) -> str:
    wf = engine.save_workflow(_spec(**params), by="ada")
    res = engine.start(wf, ITEM, by=by)
    assert res.status == "waiting", res
    return res.review_id


def _refusal(engine: Engine, review_id: str, by: str) -> str | None:
    try:
        engine.decide(review_id, {"action": "approve"}, by=by)
    except AccessError as exc:
        return str(exc)
    return None


# ------------------------------------------------------------ through runtime, every role


@pytest.mark.parametrize(
    ("by", "refusal"),
    [
        ("ada", None),  # admin
        ("sec", None),  # reviewer in the review's team
        ("rio", "it belongs to team security, rio is in risk and it is not assigned to rio"),
        ("dev", "user dev may not decide reviews (needs role reviewer)"),  # designer
        ("ops", "user ops may not decide reviews (needs role reviewer)"),  # the starter too
        ("aud", "user aud may not decide reviews (needs role reviewer)"),  # auditor
        ("old", "user old is disabled"),
        ("zed", "unknown user 'zed'"),
        ("system", "'system' is reserved for deadlines"),
    ],
)
def test_who_may_decide_a_review_of_a_run_ops_started(
    engine: Engine, by: str, refusal: str | None
) -> None:
    review = _waiting(engine, "ops")
    outcome = _refusal(engine, review, by)
    if refusal is None:
        assert outcome is None
        assert engine.store.get_review(review)["decided_by"] == by
    else:
        assert outcome is not None and refusal in outcome, outcome
        assert engine.store.get_review(review)["status"] == "pending"


@pytest.mark.parametrize(("starter", "other"), [("ada", "sec"), ("boss", "sec")])
def test_whoever_started_the_run_may_not_decide_its_review_admins_included(
    engine: Engine, starter: str, other: str
) -> None:
    review = _waiting(engine, starter)
    run_id = engine.store.get_review(review)["run_id"]
    message = (
        f"{starter} started run {run_id} and may not decide its review {review} at node "
        "security_review; the checkpoint does not allow self-approval (allow_self_approval)"
    )
    assert _refusal(engine, review, starter) == message
    # record_decision and decide_many apply the same rule
    with pytest.raises(AccessError) as err:
        engine.record_decision(review, {"action": "approve"}, by=starter)
    assert str(err.value) == message
    [refused] = engine.decide_many([review], {"action": "approve"}, by=starter)
    assert refused.error == message
    assert engine.store.get_review(review)["status"] == "pending"
    assert _refusal(engine, review, other) is None


def test_a_designer_who_started_the_run_decides_nothing(engine: Engine) -> None:
    review = _waiting(engine, "dev")
    for decide in (engine.decide, engine.record_decision, engine.decide_many):
        target = [review] if decide == engine.decide_many else review
        with pytest.raises(AccessError, match=r"^user dev may not decide reviews \(needs role"):
            decide(target, {"action": "approve"}, by="dev")
    assert engine.store.get_review(review)["status"] == "pending"


def test_a_checkpoint_may_allow_self_approval_and_the_role_rule_still_holds(
    engine: Engine,
) -> None:
    review = _waiting(engine, "boss", allow_self_approval=True)
    assert _refusal(engine, review, "boss") is None
    review = _waiting(engine, "dev", allow_self_approval=True)
    assert "needs role reviewer" in _refusal(engine, review, "dev")


def test_an_assigned_reviewer_of_another_team_may_decide(engine: Engine) -> None:
    review = _waiting(engine, "ops", assignee="rio")
    assert _refusal(engine, review, "rio") is None


def test_bulk_decisions_refuse_the_reviews_a_reviewer_may_not_decide(engine: Engine) -> None:
    theirs = _waiting(engine, "ops")
    own = _waiting(engine, "boss")
    results = engine.decide_many([theirs, own], {"action": "approve"}, by="boss")
    assert results[0].status == "succeeded"
    assert "boss started run" in results[1].error


# ------------------------------------------------------------ the seed


def test_the_seed_starts_demo_runs_as_an_operator_whom_reviewers_do_not_share(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "seeded.duckdb")
    try:
        engine = Engine(store, services=default_services(store))
        seed_demo(engine)
        assert DEMO_STARTER == "ops"
        assert ("ops", "Ops (operator)", ["operator"], []) in DEMO_USERS
        pending = store.list_pending_reviews(team="security")
        assert pending
        review = pending[0]["id"]
        assert store.get_run(pending[0]["run_id"])["started_by"] == "ops"
        assert "needs role reviewer" in _refusal(engine, review, "dev")
        assert "needs role reviewer" in _refusal(engine, review, "ops")
        assert _refusal(engine, review, "rae") is None  # rae reviews for security
    finally:
        store.close()


# ------------------------------------------------------------ the CLI (exit 1, the reason)


def test_the_cli_refuses_a_designer_approving_the_run_they_started(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    loopgate(db, "users", "add", "dev", "--role", "designer", "--role", "operator")
    loopgate(db, "users", "add", "sec", "--role", "reviewer", "--team", "security")
    items = EXAMPLES / "items" / "account-deletion.jsonl"
    runs = loopgate(db, "run", str(DELETION), "--items", str(items), "--by", "dev", "--json")
    review = runs.lines[0]["review_id"]
    res = loopgate(db, "decide", review, "--action", "approve", "--by", "dev", check=False)
    assert res.code == 1
    assert "dev may not decide reviews (needs role reviewer)" in res.err
    ok = loopgate(db, "decide", review, "--action", "approve", "--by", "sec", "--json")
    assert ok.lines[0]["status"] == "succeeded"
