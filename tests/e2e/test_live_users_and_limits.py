"""A running server (issue 12, item 5): a user added after it started may decide at once,
a user disabled after deciding is refused at once, and list endpoints answer 422 (never
500) for a limit or offset out of range."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.clihelp import loopgate
from tests.serverutil import running_server


def test_users_changed_while_the_server_runs_and_bounded_pages(tmp_path: Path) -> None:
    db = tmp_path / "live.duckdb"
    with running_server(db) as url:
        item = '{"employee": "kim", "amount": 900, "category": "equipment"}'
        for _ in range(3):  # the stored workflow, by id: it waits for the managers
            loopgate(db, "run", "expense-approval", "--item", item)
        pending = loopgate(db, "reviews", "--team", "managers", "--json").lines
        assert len(pending) >= 3
        first, second, third = (r["id"] for r in pending[:3])

        # The server's engine looks newbie up before newbie exists ...
        early = loopgate(db, "decide", first, "--action", "approve", "--by", "newbie", check=False)
        assert early.code == 1 and "unknown user 'newbie'" in early.err
        # ... then an admin adds newbie (through the server, which holds the file).
        loopgate(db, "users", "add", "newbie", "--role", "reviewer", "--team", "managers")
        token = loopgate(db, "users", "token", "newbie").out.strip()
        auth = {"Authorization": f"Bearer {token}"}
        api = httpx.post(
            f"{url}/api/reviews/{first}/decision", headers=auth, json={"action": "approve"}
        )
        assert api.status_code == 200, api.text
        assert api.json()["status"] in ("succeeded", "waiting")
        cli = loopgate(db, "decide", second, "--action", "approve", "--by", "newbie", "--json")
        assert cli.lines[0]["status"] in ("succeeded", "waiting")

        # Disabled after deciding (so the server has read newbie): refused on every path.
        loopgate(db, "users", "disable", "newbie")
        refused = loopgate(
            db, "decide", third, "--action", "approve", "--by", "newbie", check=False
        )
        assert refused.code == 1 and "user newbie is disabled" in refused.err
        gone = httpx.post(
            f"{url}/api/reviews/{third}/decision", headers=auth, json={"action": "approve"}
        )
        assert gone.status_code == 401
        still = {r["id"] for r in loopgate(db, "reviews", "--json").lines}
        assert third in still and first not in still and second not in still

        # Page bounds: a clear 422 naming the parameter, for both list endpoints.
        admin = loopgate(db, "users", "token", "ada").out.strip()
        headers = {"Authorization": f"Bearer {admin}"}
        for path in ("/api/reviews", "/api/runs"):
            for query, field in (
                ("limit=-1", "limit"),
                ("limit=0", "limit"),
                ("limit=1001", "limit"),
                ("limit=99999999999999999999999", "limit"),
                ("limit=ten", "limit"),
                ("offset=-5", "offset"),
                ("offset=99999999999999999999999", "offset"),
            ):
                res = httpx.get(f"{url}{path}?{query}", headers=headers)
                assert res.status_code == 422, (path, query, res.status_code, res.text)
                assert field in res.text
            ok = httpx.get(f"{url}{path}?limit=1000&offset=0", headers=headers)
            assert ok.status_code == 200 and isinstance(ok.json(), list)
