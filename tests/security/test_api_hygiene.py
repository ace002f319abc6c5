"""Item 9: a retried start with the same Idempotency-Key starts no new runs, and the API
docs load without the internet (Swagger UI served from a package, not a CDN)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from runtime.auth import add_user, issue_token
from tests.serverutil import api_over_store

ITEM = {"employee": "kim", "amount": 900, "category": "equipment"}


def _run_count(eng) -> int:
    return eng.store.execute_readonly("SELECT count(*) AS n FROM runs")[0]["n"]


def test_the_same_idempotency_key_returns_the_first_runs(tmp_path: Path) -> None:
    with api_over_store(tmp_path / "lg.duckdb") as (app, eng, token):
        client = TestClient(app)
        auth = {"Authorization": f"Bearer {token}"}
        url = "/workflows/expense-approval/runs"
        keyed = {**auth, "Idempotency-Key": "order-17"}

        first = client.post(url, headers=keyed, json={"item": ITEM})
        assert first.status_code == 200, first.text
        again = client.post(url, headers=keyed, json={"item": ITEM})
        assert again.status_code == 200, again.text
        run_id = first.json()["runs"][0]["run_id"]
        assert [r["run_id"] for r in again.json()["runs"]] == [run_id]
        assert again.json()["runs"][0]["status"] == "waiting"
        assert _run_count(eng) == 1

        # A batch: the retry returns the same runs in the same order, and starts none.
        items = {"items": [ITEM, {**ITEM, "amount": 20}, {"employee": "x"}]}
        batch = client.post(url, headers={**auth, "Idempotency-Key": "b-1"}, json=items)
        retry = client.post(url, headers={**auth, "Idempotency-Key": "b-1"}, json=items)
        assert batch.status_code == retry.status_code == 200
        ids = [r["run_id"] for r in batch.json()["runs"]]
        assert len(ids) == 2 and [r["run_id"] for r in retry.json()["runs"]] == ids
        assert len(batch.json()["errors"]) == 1
        assert _run_count(eng) == 3

        # Without a key, or with another key, or as another user: new runs.
        assert client.post(url, headers=auth, json={"item": ITEM}).status_code == 200
        other = client.post(
            url, headers={**auth, "Idempotency-Key": "order-18"}, json={"item": ITEM}
        )
        assert other.json()["runs"][0]["run_id"] != run_id
        add_user(eng.store, "dev", roles=["designer"], teams=[])
        dev = {
            "Authorization": f"Bearer {issue_token(eng.store, 'dev')}",
            "Idempotency-Key": "order-17",
        }
        assert (
            client.post(url, headers=dev, json={"item": ITEM}).json()["runs"][0]["run_id"] != run_id
        )
        assert _run_count(eng) == 6

        # A bad item with a key: 422 naming the field, as without a key; nothing started.
        bad = client.post(url, headers={**auth, "Idempotency-Key": "k-bad"}, json={"item": {}})
        assert bad.status_code == 422 and "amount" in bad.text
        weird = client.post(
            url, headers={**auth, "Idempotency-Key": "x" * 500}, json={"item": ITEM}
        )
        assert weird.status_code == 422
        assert _run_count(eng) == 6


def test_api_docs_use_only_local_assets(tmp_path: Path) -> None:
    with api_over_store(tmp_path / "lg.duckdb") as (app, _eng, _token):
        from starlette.applications import Starlette
        from starlette.routing import Mount

        client = TestClient(Starlette(routes=[Mount("/api", app=app)]))  # mounted as served
        page = client.get("/api/docs")
        assert page.status_code == 200
        urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
        assert urls, page.text
        for url in urls:
            assert url.startswith("/api/"), f"{url} is not served by Loopgate"
            assert client.get(url).status_code == 200, url
        assert "cdn" not in page.text.lower() and "https://" not in page.text
        assert any(u.endswith("swagger-ui-bundle.js") for u in urls)
        assert "/api/openapi.json" in urls


def test_the_same_key_sent_twice_at_once_starts_one_run(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with api_over_store(tmp_path / "lg.duckdb") as (app, eng, token):
        client = TestClient(app)
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "same"}

        def post(_: int):
            return client.post(
                "/workflows/expense-approval/runs", headers=headers, json={"item": ITEM}
            )

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(post, range(4)))
        assert {a.status_code for a in answers} == {200}
        assert len({a.json()["runs"][0]["run_id"] for a in answers}) == 1
        assert _run_count(eng) == 1
