"""Page tests: a seeded store on a temp file, shared the way the server shares its engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from builder.shell import resources
from runtime import open_engine
from runtime.seed import seed_demo


@pytest.fixture()
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The demo seed in a fresh database that the app's pages use ($LOOPGATE_DB)."""
    db = tmp_path / "pages.duckdb"
    monkeypatch.setenv("LOOPGATE_DB", str(db))
    engine = open_engine(str(db))
    seed_demo(engine)
    resources.set_engine(engine)
    yield
    resources.set_engine(None)
    engine.store.close()
