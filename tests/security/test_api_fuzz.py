"""The API fuzzed from its own OpenAPI document with schemathesis: no answer is a 500, and
the audit chain is intact afterwards. In-process (the ASGI app over a real store in a temp
file, as an admin with a bearer token): no port, no network."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.serverutil import api_over_store

schemathesis = pytest.importorskip("schemathesis")

MAX_EXAMPLES = 25  # per operation: the whole run stays well under a minute
BUDGET_SECONDS = 60


def test_no_server_errors_and_the_audit_chain_stays_intact(tmp_path: Path) -> None:
    started = time.monotonic()
    with api_over_store(tmp_path / "fuzz.duckdb") as (app, eng, token):
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        server_errors: list[str] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.label for op in operations} >= {
            "GET /health",
            "POST /workflows/{workflow_id}/runs",
            "POST /reviews/{review_id}/decision",
        }
        for op in operations:
            _fuzz(op, token, server_errors)
            assert time.monotonic() - started < BUDGET_SECONDS, f"fuzzing ran past {op.label}"
        assert server_errors == []
        ok, checked, message = eng.store.verify_audit_chain()
        assert ok, message
        assert checked > 0


def _fuzz(op, token: str, server_errors: list[str]) -> None:
    """Call one operation with generated requests (as the admin); note every 5xx."""

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=timedelta(seconds=10),
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy())
    def call(case) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        response = case.call()
        if response.status_code >= 500:
            server_errors.append(
                f"{op.label} {case.path_parameters} {case.query} {case.body!r}: "
                f"{response.status_code} {response.text[:300]}"
            )

    call()
