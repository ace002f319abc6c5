"""Claiming and releasing reviews (``Engine.assign``): the rules, the audit trail, the edges.

A claim sets the review's assignee to the claimer; a release clears it. Only people who
may decide a review claim it; a review someone else holds is refused naming them (an admin
may take it or give it to another reviewer of its team); only its holder or an admin
releases it; only pending reviews. Each change is one audit event written with it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runtime.api import create_api
from runtime.auth import add_user, issue_token
from runtime.engine import Engine
from runtime.errors import AccessError, NotFoundError, ReviewClaimedError, ReviewNotPendingError
from runtime.services import default_services
from runtime.spec import load_yaml
from runtime.store import Store
from tests.e2e.clihelp import EXAMPLES

ITEM = {"employee": "eve", "amount": 120, "category": "travel", "note": "train"}
USERS = [
    ("mia", ["reviewer"], ["managers"]),
    ("max", ["reviewer"], ["managers"]),
    ("rio", ["reviewer"], ["risk"]),
    ("dev", ["designer", "operator"], []),
    ("ada", ["admin"], []),
    ("aud", ["auditor"], []),
]


@pytest.fixture
def engine(tmp_path: Path):
    store = Store(tmp_path / "assign.duckdb")
    for name, roles, teams in USERS:
        add_user(store, name, roles=roles, teams=teams)
    eng = Engine(store, services=default_services(store))
    yield eng
    store.close()


def _review(engine: Engine, by: str = "dev") -> str:
    wf = engine.save_workflow(load_yaml(EXAMPLES / "expense-approval.yaml"), by="ada")
    res = engine.start(wf, ITEM, by=by)
    assert res.status == "waiting", res
    return res.review_id


def _events(engine: Engine, review_id: str) -> list[dict]:
    return [e for e in engine.store.audit_events(limit=1000) if e["review_id"] == review_id]


def test_claim_and_release_set_the_assignee_and_are_audited(engine: Engine):
    rid = _review(engine)
    row = engine.assign(rid, "mia", by="mia")
    assert row["assignee"] == "mia" and row["id"] == rid
    assert engine.store.get_review(rid)["assignee"] == "mia"
    # The queue shows who holds it, and the others still see it.
    queue = engine.store.list_pending_reviews(teams=["managers"])
    assert [r["assignee"] for r in queue] == ["mia"]
    assert engine.store.count_pending_reviews(assignee="mia") == 1
    row = engine.assign(rid, None, by="mia")
    assert row["assignee"] is None
    kinds = [(e["kind"], e["actor"]) for e in _events(engine, rid)]
    assert ("review.claimed", "mia") in kinds and ("review.released", "mia") in kinds
    claimed = next(e for e in _events(engine, rid) if e["kind"] == "review.claimed")
    data = claimed["data"] if isinstance(claimed["data"], dict) else json.loads(claimed["data"])
    assert data == {"assignee": "mia", "previous": None}
    assert engine.store.verify_audit_chain()[0]


def test_claiming_again_or_releasing_an_unclaimed_review_changes_nothing(engine: Engine):
    rid = _review(engine)
    engine.assign(rid, None, by="mia")  # nothing to release
    engine.assign(rid, "mia", by="mia")
    engine.assign(rid, "mia", by="mia")  # already hers
    assert [e["kind"] for e in _events(engine, rid)].count("review.claimed") == 1
    assert not any(e["kind"] == "review.released" for e in _events(engine, rid))


def test_a_review_someone_else_holds_is_refused_naming_them(engine: Engine):
    rid = _review(engine)
    engine.assign(rid, "mia", by="mia")
    with pytest.raises(ReviewClaimedError, match="claimed by mia") as exc:
        engine.assign(rid, "max", by="max")
    assert exc.value.holder == "mia"
    with pytest.raises(AccessError, match="claimed by mia; only mia or an admin"):
        engine.assign(rid, None, by="max")
    assert engine.store.get_review(rid)["assignee"] == "mia"


def test_an_admin_takes_reassigns_and_releases(engine: Engine):
    rid = _review(engine)
    engine.assign(rid, "mia", by="mia")
    assert engine.assign(rid, "max", by="ada")["assignee"] == "max"
    assert engine.assign(rid, "ada", by="ada")["assignee"] == "ada"
    assert engine.assign(rid, None, by="ada")["assignee"] is None
    kinds = [e["kind"] for e in _events(engine, rid)]
    assert {"review.claimed", "review.assigned", "review.released"} <= set(kinds)
    # The new holder must be allowed to decide it on their own.
    with pytest.raises(AccessError, match="rio may not decide review"):
        engine.assign(rid, "rio", by="ada")
    with pytest.raises(AccessError, match="may not decide reviews"):
        engine.assign(rid, "aud", by="ada")


def test_a_reviewer_may_not_assign_to_someone_else(engine: Engine):
    rid = _review(engine)
    with pytest.raises(AccessError, match="only an admin assigns reviews to others"):
        engine.assign(rid, "max", by="mia")
    assert engine.store.get_review(rid)["assignee"] is None


@pytest.mark.parametrize(
    ("by", "message"),
    [
        ("rio", "belongs to team managers"),  # a reviewer of another team
        ("dev", "dev started run"),  # the run's starter (separation of duties)
        ("aud", "may not decide reviews"),  # an auditor sees but never decides
        ("nobody", "unknown user 'nobody'"),
        ("system", "'system' is reserved"),
    ],
)
def test_only_people_who_may_decide_claim(engine: Engine, by: str, message: str):
    rid = _review(engine)
    with pytest.raises(AccessError, match=message):
        engine.assign(rid, by, by=by)
    assert engine.store.get_review(rid)["assignee"] is None
    assert not any(e["kind"].startswith("review.claimed") for e in _events(engine, rid))


def test_only_pending_reviews(engine: Engine):
    rid = _review(engine)
    engine.decide(rid, {"action": "approve"}, by="mia")
    with pytest.raises(ReviewNotPendingError, match="already decided by mia"):
        engine.assign(rid, "max", by="max")
    with pytest.raises(NotFoundError, match="review rv_nope does not exist"):
        engine.assign("rv_nope", "max", by="max")


def test_the_holder_decides_and_others_still_may(engine: Engine):
    rid = _review(engine)
    engine.assign(rid, "mia", by="mia")
    res = engine.decide(rid, {"action": "approve"}, by="mia")
    assert res.status == "succeeded"
    assert engine.store.get_review(rid)["decided_by"] == "mia"


def test_two_reviewers_racing_exactly_one_claim_wins(engine: Engine):
    rid = _review(engine)
    barrier = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def claim(name: str) -> None:
        barrier.wait()
        try:
            engine.assign(rid, name, by=name)
            outcome[name] = "won"
        except ReviewClaimedError as exc:
            outcome[name] = f"lost to {exc.holder}"

    threads = [threading.Thread(target=claim, args=(n,)) for n in ("mia", "max")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winner = engine.store.get_review(rid)["assignee"]
    loser = "max" if winner == "mia" else "mia"
    assert outcome == {winner: "won", loser: f"lost to {winner}"}
    assert [e["kind"] for e in _events(engine, rid)].count("review.claimed") == 1


def test_api_claim_and_release(engine: Engine):
    rid = _review(engine)
    tokens = {n: issue_token(engine.store, n) for n in ("mia", "max", "rio")}
    client = TestClient(create_api(lambda: engine, lambda: None))

    def post(path: str, who: str):
        return client.post(path, headers={"Authorization": f"Bearer {tokens[who]}"})

    ok = post(f"/reviews/{rid}/claim", "mia")
    assert ok.status_code == 200 and ok.json()["assignee"] == "mia"
    taken = post(f"/reviews/{rid}/claim", "max")
    assert taken.status_code == 409 and "claimed by mia" in taken.json()["error"]
    assert post(f"/reviews/{rid}/release", "max").status_code == 403
    assert post(f"/reviews/{rid}/claim", "rio").status_code == 403
    assert post("/reviews/rv_nope/claim", "mia").status_code == 404
    free = post(f"/reviews/{rid}/release", "mia")
    assert free.status_code == 200 and free.json()["assignee"] is None


def test_cli_claim_and_release(engine: Engine, tmp_path: Path):
    from click.testing import CliRunner

    from runtime.cli.app import cli

    rid = _review(engine)
    db = engine.store.path
    engine.store.close()
    runner = CliRunner()
    out = runner.invoke(cli, ["reviews", "claim", rid, "--by", "mia", "--db", db])
    assert out.exit_code == 0, out.output
    assert f"review {rid} is claimed by mia" in out.output
    listed = runner.invoke(cli, ["reviews", "--db", db])
    assert "claimed by mia" in listed.output
    refused = runner.invoke(cli, ["reviews", "release", rid, "--by", "max", "--db", db])
    assert refused.exit_code == 1
    assert "claimed by mia; only mia or an admin may release it" in refused.output
    out = runner.invoke(cli, ["reviews", "release", rid, "--by", "mia", "--db", db, "--json"])
    assert out.exit_code == 0 and json.loads(out.output) == {"review_id": rid, "assignee": None}


def test_the_queue_filters_mine_and_unclaimed(engine: Engine):
    from runtime.queries.reviews import UNASSIGNED, review_queue

    a, b = _review(engine), _review(engine)
    engine.assign(a, "mia", by="mia")
    mia = engine.user("mia")
    assert [r["id"] for r in review_queue(engine.store, mia, assignee="mia").items] == [a]
    unclaimed = review_queue(engine.store, mia, assignee=UNASSIGNED)
    assert [r["id"] for r in unclaimed.items] == [b] and unclaimed.total == 1
    everyone = review_queue(engine.store, engine.user("max"))
    assert {r["id"]: r["assignee"] for r in everyone.items} == {a: "mia", b: None}
