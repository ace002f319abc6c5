"""Claiming reviews ("assign to me") is checked in runtime, for the engine and the API alike.

The attacks: a reviewer of another team claims a review to make it theirs (an assignee may
decide a review of another team); a designer with no reviewer role claims one; a reviewer
releases (or takes) a review a colleague holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runtime.api import create_api
from runtime.auth import add_user, issue_token
from runtime.engine import Engine
from runtime.errors import AccessError, ReviewClaimedError
from runtime.services import default_services
from runtime.spec import load_yaml
from runtime.store import Store
from tests.e2e.clihelp import EXAMPLES

ITEM = {"employee": "eve", "amount": 120, "category": "travel", "note": "train"}


@pytest.fixture
def engine(tmp_path: Path):
    store = Store(tmp_path / "claims.duckdb")
    for name, roles, teams in [
        ("mia", ["reviewer"], ["managers"]),
        ("max", ["reviewer"], ["managers"]),
        ("rio", ["reviewer"], ["risk"]),
        ("dev", ["designer"], []),
        ("ops", ["operator"], []),
        ("ada", ["admin"], []),
    ]:
        add_user(store, name, roles=roles, teams=teams)
    eng = Engine(store, services=default_services(store))
    yield eng
    store.close()


@pytest.fixture
def review_id(engine: Engine) -> str:
    wf = engine.save_workflow(load_yaml(EXAMPLES / "expense-approval.yaml"), by="ada")
    return engine.start(wf, ITEM, by="ops").review_id


def test_a_reviewer_of_another_team_cannot_claim(engine: Engine, review_id: str):
    with pytest.raises(AccessError, match="it belongs to team managers, rio is in risk"):
        engine.assign(review_id, "rio", by="rio")
    # ... and so cannot decide it through an assignment either.
    with pytest.raises(AccessError):
        engine.decide(review_id, {"action": "approve"}, by="rio")
    assert engine.store.get_review(review_id)["assignee"] is None


def test_a_designer_cannot_claim(engine: Engine, review_id: str):
    with pytest.raises(AccessError, match="dev may not decide reviews"):
        engine.assign(review_id, "dev", by="dev")
    with pytest.raises(AccessError):
        engine.assign(review_id, "mia", by="dev")  # nor hand it to someone
    assert engine.store.get_review(review_id)["assignee"] is None


def test_release_or_takeover_by_a_non_holder_is_refused(engine: Engine, review_id: str):
    engine.assign(review_id, "mia", by="mia")
    with pytest.raises(AccessError, match="claimed by mia; only mia or an admin"):
        engine.assign(review_id, None, by="max")
    with pytest.raises(ReviewClaimedError, match="claimed by mia"):
        engine.assign(review_id, "max", by="max")
    with pytest.raises(AccessError, match="only an admin assigns"):
        engine.assign(review_id, "max", by="mia")
    assert engine.store.get_review(review_id)["assignee"] == "mia"
    kinds = [e["kind"] for e in engine.store.audit_events(limit=500)]
    assert kinds.count("review.claimed") == 1 and "review.released" not in kinds


def test_the_api_applies_the_same_rules(engine: Engine, review_id: str):
    client = TestClient(create_api(lambda: engine, lambda: None))
    tokens = {n: issue_token(engine.store, n) for n in ("mia", "max", "rio", "dev")}

    def post(action: str, who: str) -> int:
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        return client.post(f"/reviews/{review_id}/{action}", headers=headers).status_code

    assert post("claim", "rio") == 403
    assert post("claim", "dev") == 403
    assert post("claim", "mia") == 200
    assert post("release", "max") == 403
    assert post("claim", "max") == 409
    assert client.post(f"/reviews/{review_id}/claim").status_code == 401
    assert engine.store.get_review(review_id)["assignee"] == "mia"
