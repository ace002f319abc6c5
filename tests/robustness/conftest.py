"""Fixtures of the bounded bad-input corpus: the zygote and a seeded database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.robustness.harness import Bounded


@pytest.fixture(scope="session")
def bounded() -> Iterator[Bounded]:
    """One zygote for the session: each case still runs in its own forked child."""
    worker = Bounded()
    yield worker
    worker.close()
