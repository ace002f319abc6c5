"""The app server as one process: the API on /api with bearer tokens, and the CLI sending
its commands to the server while the server holds the database file."""

from __future__ import annotations

from pathlib import Path

import httpx

from runtime.settings import server_file
from tests.e2e.clihelp import loopgate
from tests.serverutil import running_server


def test_api_and_cli_forwarding_while_the_server_holds_the_file(tmp_path: Path) -> None:
    db = tmp_path / "served.duckdb"
    with running_server(db) as url:
        assert server_file(db).exists()
        health = httpx.get(f"{url}/api/health").json()
        assert health["status"] == "ok" and health["pending_reviews"] > 0

        # The CLI cannot open the file (the server holds it), so it goes through the server.
        pending = loopgate(db, "reviews", "--team", "managers", "--json").lines
        assert pending and all(r["team"] == "managers" for r in pending)
        token = loopgate(db, "users", "token", "rae").out.strip()
        assert token.startswith("lg_")

        assert httpx.get(f"{url}/api/reviews").status_code == 401
        auth = {"Authorization": f"Bearer {token}"}
        mine = httpx.get(f"{url}/api/reviews", headers=auth).json()
        assert mine and all(r["team"] != "risk" for r in mine)  # rae is not in risk

        review = pending[0]["id"]
        done = httpx.post(
            f"{url}/api/reviews/{review}/decision", headers=auth, json={"action": "approve"}
        )
        assert done.status_code == 200, done.text
        again = httpx.post(
            f"{url}/api/reviews/{review}/decision", headers=auth, json={"action": "approve"}
        )
        assert again.status_code == 409 and "already decided by rae" in again.json()["error"]
        # wait=false answers once the decision is durable; a second decision is refused
        # at once, though the run may still be going on.
        quick = pending[1]["id"]
        receipt = httpx.post(
            f"{url}/api/reviews/{quick}/decision?wait=false",
            headers=auth,
            json={"action": "approve"},
        )
        assert receipt.status_code == 202, receipt.text
        assert receipt.json()["decided_by"] == "rae"
        assert receipt.json()["run_id"] == pending[1]["run_id"]
        twice = httpx.post(
            f"{url}/api/reviews/{quick}/decision", headers=auth, json={"action": "reject"}
        )
        assert twice.status_code == 409 and "already decided by rae" in twice.json()["error"]
        left = {r["id"] for r in httpx.get(f"{url}/api/reviews", headers=auth).json()}
        assert quick not in left and review not in left

        dev_token = loopgate(db, "users", "token", "dev").out.strip()
        started = httpx.post(
            f"{url}/api/workflows/expense-approval/runs",
            headers={"Authorization": f"Bearer {dev_token}"},
            json={"item": {"employee": "kim", "amount": 900, "category": "equipment"}},
        )
        assert started.status_code == 200, started.text
        run = started.json()["runs"][0]
        assert run["status"] == "waiting" and run["waiting_on"] == "manager"
        bad = httpx.post(
            f"{url}/api/workflows/expense-approval/runs",
            headers={"Authorization": f"Bearer {dev_token}"},
            json={"item": {"employee": "kim"}},
        )
        assert bad.status_code == 422 and "amount" in bad.text
        # The reviewer's decision through the forwarded CLI reaches the same run.
        res = loopgate(
            db, "decide", run["review_id"], "--action", "approve", "--by", "rae", "--json"
        )
        assert res.lines[0]["status"] == "succeeded"
        assert "intact" in loopgate(db, "audit", "verify").out

        # Runs: the auditor reads all; rio (team risk: no seeded workflow has risk reviews,
        # and rio started nothing) none, and a run hidden from rio reads as missing.
        def bearer(name: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {loopgate(db, 'users', 'token', name).out.strip()}"}

        every = httpx.get(f"{url}/api/runs?limit=1000", headers=bearer("aud")).json()
        assert len(every) == len(loopgate(db, "runs", "--limit", "1000", "--json").lines)
        assert httpx.get(f"{url}/api/runs", headers=bearer("rio")).json() == []
        hidden = httpx.get(f"{url}/api/runs/{every[0]['id']}", headers=bearer("rio"))
        assert hidden.status_code == 404 and "does not exist" in hidden.json()["error"]
        shown = httpx.get(f"{url}/api/runs/{run['run_id']}", headers=auth)  # rae: managers
        assert shown.status_code == 200 and shown.json()["events"]
