"""Conformance: the audit chain appends, verifies, and catches tampering."""

from __future__ import annotations

import pytest

from runtime.domain import Event, WriteBatch
from runtime.store.contract import Store
from tests.store.contract.conftest import StoreFactory


def _fill(store_factory: StoreFactory, n: int = 6) -> None:
    store = store_factory.open()
    for i in range(n):
        event = Event(kind="test.event", run_id=f"run_{i}", actor="mia", data={"i": i, "t": "é"})
        store.append_events([event])
    store.close()


def test_the_chain_appends_and_verifies_across_reopening(store_factory: StoreFactory) -> None:
    _fill(store_factory)
    store = store_factory.open()
    ok, checked, message = store.verify_audit_chain()
    assert (ok, checked) == (True, 6) and message
    store.append_events([Event(kind="more"), Event(kind="more", data={"x": 1})])
    assert store.verify_audit_chain()[:2] == (True, 8)
    store.close()
    assert store_factory.open().verify_audit_chain()[:2] == (True, 8)


def test_audit_events_filter_and_page(store: Store) -> None:
    store.append_events(
        [
            Event(kind="a", run_id="r1", actor="mia", data={"text": "Refund please"}),
            Event(kind="b", run_id="r1", actor="eve"),
            Event(kind="a", run_id="r2", actor="mia"),
        ]
    )
    assert [e["kind"] for e in store.audit_events()] == ["a", "b", "a"]
    assert [e["run_id"] for e in store.audit_events(kind="a")] == ["r2", "r1"]
    assert [e["kind"] for e in store.audit_events(actor="eve")] == ["b"]
    assert [e["run_id"] for e in store.audit_events(text="refund")] == ["r1"]
    assert len(store.audit_events(run_id="r1", limit=1, offset=1)) == 1
    assert [e["kind"] for e in store.run_events("r1")] == ["a", "b"]


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_events SET actor = 'eve' WHERE seq = 3",
        "UPDATE audit_events SET kind = 'test.other' WHERE seq = 3",
        "UPDATE audit_events SET run_id = 'run_x' WHERE seq = 3",
        "UPDATE audit_events SET occurred_at = occurred_at + INTERVAL '1 second' WHERE seq = 3",
    ],
    ids=["actor", "kind", "run", "time"],
)
def test_the_chain_catches_an_altered_row(store_factory: StoreFactory, sql: str) -> None:
    _fill(store_factory)
    store_factory.raw(sql)
    ok, checked, message = store_factory.open().verify_audit_chain()
    assert not ok and checked == 2
    assert "row 3" in message


def test_the_chain_catches_a_deleted_row(store_factory: StoreFactory) -> None:
    _fill(store_factory)
    store_factory.raw("DELETE FROM audit_events WHERE seq = 4")
    ok, checked, message = store_factory.open().verify_audit_chain()
    assert not ok and checked == 3
    assert "row 4" in message


def test_the_chain_catches_a_rechained_row(store_factory: StoreFactory) -> None:
    """A row removed and the rest renumbered: the next row no longer links."""
    _fill(store_factory)
    store_factory.raw("DELETE FROM audit_events WHERE seq = 2")
    store_factory.raw("UPDATE audit_events SET seq = seq - 1 WHERE seq > 2")
    ok, checked, message = store_factory.open().verify_audit_chain()
    assert not ok and checked == 1
    assert "row 2" in message


def test_the_head_is_sealed_and_checked_after_reopening(store_factory: StoreFactory) -> None:
    """Every unit of work that appends events seals the new head; reopening checks it."""
    _fill(store_factory)
    store = store_factory.open()
    ok, checked, message = store.verify_audit_chain()
    assert ok and checked == 6
    assert "sealed at 6" in message
    store.close()
    store_factory.raw("DELETE FROM audit_events WHERE seq = 6")  # the last row: no gap left
    ok, _, message = store_factory.open().verify_audit_chain()
    assert not ok
    assert "ends at row 5 but was sealed at row 6" in message


def test_a_rolled_back_unit_of_work_leaves_the_seal_as_it_was(store_factory: StoreFactory) -> None:
    _fill(store_factory)
    store = store_factory.open()
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.write(WriteBatch(events=[Event(kind="lost")]))
        raise RuntimeError("boom")
    store.append_events([Event(kind="kept")])
    ok, checked, message = store.verify_audit_chain()
    assert ok and checked == 7 and "sealed at 7" in message
