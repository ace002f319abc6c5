"""An item with text the store cannot hold (a lone surrogate such as ``\\ud800``, which JSON
can escape but UTF-8 cannot encode) is a bad item: it is reported and the others start.

Before, it reached the group commit and failed the whole chunk with an internal error,
so every item after it was lost, on every retry.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runtime import BatchItemError, Engine, ItemError, RunResult, load_yaml
from tests.serverutil import api_over_store

ROOT = Path(__file__).resolve().parents[2]
ITEM = {"employee": "kim", "amount": 12, "category": "meals"}
BAD = "\ud800"


@pytest.fixture
def expense(engine: Engine):
    return engine.save_workflow(load_yaml(ROOT / "examples" / "expense-approval.yaml"))


@pytest.mark.parametrize("batch_size", [1, 7, 500])  # alone, inside a chunk, one big chunk
def test_a_batch_starts_every_item_but_the_one_with_a_lone_surrogate(
    engine: Engine, expense, batch_size: int
) -> None:
    engine.batch_size = batch_size
    items = [{**ITEM, "note": f"n{i}"} for i in range(40)]
    items[17] = {**ITEM, "note": f"bad {BAD} text"}
    items[30] = {**ITEM, "extra": {"deep": ["ok", BAD]}}  # not in the input schema, kept
    results = engine.start_many(expense, items, by="admin", batch_id="b1")
    bad = {r.index: r.error for r in results if isinstance(r, BatchItemError)}
    assert sorted(bad) == [17, 30]
    assert "field note: holds a lone surrogate \\ud800" in bad[17]
    assert "field extra.deep[1]: holds a lone surrogate" in bad[30]
    assert sum(isinstance(r, RunResult) for r in results) == 38
    assert engine.store.count_runs() == {"succeeded": 38}
    again = engine.start_many(expense, items, by="admin", batch_id="b1")  # a retry: no wall
    assert [r.index for r in again if isinstance(r, BatchItemError)] == [17, 30]
    assert engine.store.count_runs() == {"succeeded": 38}


def test_a_single_start_with_a_lone_surrogate_is_an_item_error(engine: Engine, expense) -> None:
    with pytest.raises(ItemError) as exc:
        engine.start(expense, {**ITEM, BAD: "x"}, by="admin")
    assert "field \\ud800: the name holds a lone surrogate" in str(exc.value)
    assert engine.store.count_runs() == {}


def test_the_api_reports_the_bad_item_and_starts_the_rest(tmp_path: Path) -> None:
    with api_over_store(tmp_path / "lg.duckdb") as (app, eng, token):
        client = TestClient(app)
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        url = "/workflows/expense-approval/runs"
        good = '{"employee": "kim", "amount": 12, "category": "meals"}'
        bad = '{"employee": "kim", "amount": 12, "category": "meals", "note": "\\ud800"}'
        batch = client.post(url, headers=auth, content=f'{{"items": [{good}, {bad}, {good}]}}')
        assert batch.status_code == 200, batch.text
        assert len(batch.json()["runs"]) == 2
        [error] = batch.json()["errors"]
        assert error["index"] == 1 and "field note: holds a lone surrogate" in error["error"]
        single = client.post(url, headers=auth, content=f'{{"item": {bad}}}')
        assert single.status_code == 422 and "field note" in single.text
        keyed = client.post(
            url, headers={**auth, "Idempotency-Key": "k1"}, content=f'{{"item": {bad}}}'
        )
        assert keyed.status_code == 422 and "field note" in keyed.text
        assert eng.store.count_runs() == {"succeeded": 2}
