"""A stand-in for the node services' record lookups, for the record action tests."""

from __future__ import annotations

from typing import Any


class FakeRecords:
    """Answers ``get_record`` from a dict of ``(table, key) -> value``."""

    def __init__(self, records: dict[tuple[str, str], Any]):
        self.records = records

    def get_record(self, table: str, key: str) -> dict[str, Any] | None:
        """The record row, or None when there is none."""
        value = self.records.get((table, key))
        return None if value is None else {"table_name": table, "key": key, "value": value}
