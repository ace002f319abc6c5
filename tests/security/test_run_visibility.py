"""Issue 11 item 4, the /api/runs leak: who sees which runs, in runtime.queries.runs and
through /api/runs and /api/runs/{id}. Admins and auditors see all; others the runs of
workflows whose reviews they may see, plus the runs they started; a user with nothing sees
nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from runtime.api import create_api
from runtime.auth import add_user, issue_token
from runtime.engine import Engine
from runtime.errors import NotFoundError
from runtime.queries import runs
from runtime.spec import parse_spec


def workflow(wf_id: str, **review: Any) -> Any:
    """With review params: trigger -> approval ``check`` -> end; else trigger -> end."""
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "trigger"}]
    edges: list[dict[str, Any]] = []
    if review:
        nodes.append({"id": "check", "type": "approval", "params": review})
        edges.append({"from": "start", "to": "check"})
        edges.append({"from": "check", "to": "done", "branch": "approved"})
        edges.append({"from": "check", "to": "no", "branch": "rejected"})
        nodes.append({"id": "no", "type": "end", "params": {"result": "rejected"}})
    else:
        edges.append({"from": "start", "to": "done"})
    nodes.append({"id": "done", "type": "end", "params": {"result": "approved"}})
    return parse_spec(
        {
            "id": wf_id,
            "name": wf_id,
            "input": {"n": {"type": "number", "required": True}},
            "nodes": nodes,
            "edges": edges,
        }
    )


USERS = {
    "ada": (["admin"], []),
    "aud": (["auditor"], []),
    "rae": (["reviewer"], ["alpha"]),  # team alpha
    "ben": (["reviewer"], ["gamma"]),  # a gamma review is assigned to him... in wf-beta
    "dev": (["designer", "operator"], []),  # started one beta run
    "nil": (["operator"], []),  # nothing of their own
}


@pytest.fixture
def world(engine: Engine) -> dict[str, list[str]]:
    """Runs per workflow: wf-alpha (team alpha reviews, 2 runs), wf-beta (team beta; one
    run started by dev, one not), wf-gamma (a team gamma review assigned to ben, decided),
    wf-auto (no reviews at all)."""
    for name, (roles, teams) in USERS.items():
        add_user(engine.store, name, roles=roles, teams=teams)
    engine.forget_users()
    alpha = engine.save_workflow(workflow("wf-alpha", team="alpha"))
    beta = engine.save_workflow(workflow("wf-beta", team="beta"))
    gamma = engine.save_workflow(workflow("wf-gamma", team="delta", assignee="ben"))
    auto = engine.save_workflow(workflow("wf-auto"))
    made = {
        "wf-alpha": [r.run_id for r in engine.start_many(alpha, [{"n": 1}, {"n": 2}])],
        "wf-beta-dev": [engine.start(beta, {"n": 3}, by="dev").run_id],
        "wf-beta": [engine.start(beta, {"n": 4}).run_id],
        "wf-gamma": [engine.start(gamma, {"n": 5}).run_id],
        "wf-auto": [engine.start(auto, {"n": 6}).run_id],
    }
    review = engine.get_run(made["wf-gamma"][0]).review_id
    engine.decide(review, {"action": "approve"}, by="admin")  # any status counts
    return made


def everything(world: dict[str, list[str]]) -> set[str]:
    return {run_id for ids in world.values() for run_id in ids}


EXPECTED = {
    "ada": ["wf-alpha", "wf-beta-dev", "wf-beta", "wf-gamma", "wf-auto"],
    "aud": ["wf-alpha", "wf-beta-dev", "wf-beta", "wf-gamma", "wf-auto"],
    "rae": ["wf-alpha"],
    "ben": ["wf-gamma"],
    "dev": ["wf-beta-dev"],
    "nil": [],
}


def visible(world: dict[str, list[str]], name: str) -> set[str]:
    return {run_id for key in EXPECTED[name] for run_id in world[key]}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_list_runs_shows_each_role_what_it_may_see(
    engine: Engine, world: dict[str, list[str]], name: str
) -> None:
    user = engine.store.get_user(name)
    got = {r["id"] for r in runs.list_runs(engine.store, user)}
    assert got == visible(world, name)
    for run_id in everything(world):
        if run_id in got:
            assert runs.run_detail(engine.store, user, run_id).run["id"] == run_id
        else:
            with pytest.raises(NotFoundError, match=f"^run {run_id} does not exist in "):
                runs.run_detail(engine.store, user, run_id)


def test_the_local_caller_sees_every_run_with_its_history(
    engine: Engine, world: dict[str, list[str]]
) -> None:
    assert {r["id"] for r in runs.list_runs(engine.store, None)} == everything(world)
    detail = runs.run_detail(engine.store, None, world["wf-beta"][0])
    assert detail.run["status"] == "waiting" and detail.pending_review["team"] == "beta"
    assert [e["kind"] for e in detail.events][-1] == "review.requested"


def test_a_review_with_no_team_shows_its_workflow_to_everyone(
    engine: Engine, world: dict[str, list[str]]
) -> None:
    open_ = engine.save_workflow(workflow("wf-open", priority="high"))  # no team
    run_id = engine.start(open_, {"n": 7}).run_id
    nil = engine.store.get_user("nil")
    assert [r["id"] for r in runs.list_runs(engine.store, nil)] == [run_id]
    assert runs.run_detail(engine.store, nil, run_id).run["workflow_id"] == "wf-open"


def test_filters_and_paging_apply_within_what_the_user_sees(
    engine: Engine, world: dict[str, list[str]]
) -> None:
    rae = engine.store.get_user("rae")
    assert runs.list_runs(engine.store, rae, workflow_id="wf-beta") == []
    assert len(runs.list_runs(engine.store, rae, status="waiting")) == 2
    first = runs.list_runs(engine.store, rae, limit=1)
    second = runs.list_runs(engine.store, rae, limit=1, offset=1)
    assert {first[0]["id"], second[0]["id"]} == set(world["wf-alpha"])
    assert runs.list_runs(engine.store, None, status="succeeded", limit=10)[0]["id"] in (
        world["wf-gamma"] + world["wf-auto"]
    )


# ---------------------------------------------------------------- through the HTTP API


@pytest.fixture
def client(engine: Engine, world: dict[str, list[str]]) -> TestClient:
    return TestClient(create_api(lambda: engine, lambda: None))


def bearer(engine: Engine, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(engine.store, name)}"}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_api_runs_shows_each_role_what_it_may_see(
    engine: Engine, world: dict[str, list[str]], client: TestClient, name: str
) -> None:
    auth = bearer(engine, name)
    listed = client.get("/runs", headers=auth)
    assert listed.status_code == 200
    assert {r["id"] for r in listed.json()} == visible(world, name)
    for run_id in everything(world):
        one = client.get(f"/runs/{run_id}", headers=auth)
        if run_id in visible(world, name):
            assert one.status_code == 200 and one.json()["id"] == run_id
            assert one.json()["events"] and "state" in one.json()
        else:
            assert one.status_code == 404
            assert one.json()["error"].startswith(f"run {run_id} does not exist")


def test_api_runs_keep_their_shape_and_an_unknown_run_reads_like_a_hidden_one(
    engine: Engine, world: dict[str, list[str]], client: TestClient
) -> None:
    auth = bearer(engine, "ada")
    row = client.get("/runs", params={"workflow": "wf-auto"}, headers=auth).json()[0]
    assert list(row) == [
        "id",
        "workflow_id",
        "workflow_version",
        "status",
        "current_node",
        "step_count",
        "error",
        "result",
        "created_at",
        "updated_at",
        "finished_at",
        "batch_id",  # added for the Runs page: new fields come last, the old keep their order
        "started_by",
    ]
    missing = client.get("/runs/run_missing", headers=bearer(engine, "nil"))
    assert missing.status_code == 404 and missing.json()["type"] == "NotFoundError"
    assert client.get("/runs").status_code == 401


def test_api_reviews_show_auditors_everything_and_reviewers_their_teams(
    engine: Engine, world: dict[str, list[str]], client: TestClient
) -> None:
    teams = {
        name: sorted(r["team"] for r in client.get("/reviews", headers=bearer(engine, name)).json())
        for name in ("ada", "aud", "rae", "nil")
    }
    assert teams["ada"] == teams["aud"] == ["alpha", "alpha", "beta", "beta"]
    assert teams["rae"] == ["alpha", "alpha"]
    assert teams["nil"] == []
    page = client.get("/reviews", params={"limit": 1, "offset": 1}, headers=bearer(engine, "rae"))
    assert [r["team"] for r in page.json()] == ["alpha"]


def test_api_cli_route_needs_the_secret_and_a_run_cli(engine: Engine) -> None:
    seen: list[list[str]] = []

    def run_cli(eng: Engine, argv: list[str]) -> dict[str, Any]:
        seen.append(argv)
        return {"code": 0, "stdout": "ok\n", "stderr": ""}

    secret = "s3cret"
    with_cli = TestClient(create_api(lambda: engine, lambda: secret, run_cli=run_cli))
    assert with_cli.post("/cli", json={"argv": ["runs"]}).status_code == 403
    done = with_cli.post("/cli", json={"argv": ["runs"]}, headers={"X-Loopgate-Local": secret})
    assert done.json() == {"code": 0, "stdout": "ok\n", "stderr": ""} and seen == [["runs"]]
    without = TestClient(create_api(lambda: engine, lambda: secret))
    refused = without.post("/cli", json={"argv": ["runs"]}, headers={"X-Loopgate-Local": secret})
    assert refused.status_code == 501
