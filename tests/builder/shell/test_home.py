"""What Home and sign-in show: the introduction, the demo hint, the queue and the overview."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from builder.shell import resources
from builder.shell.home import demo_accounts_hint, intro_markdown, my_queue, overview
from runtime import Engine, open_engine
from runtime.auth import add_user
from runtime.seed import DEMO_PASSWORD, DEMO_USERS, seed_demo

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Engine]:
    """An engine on a fresh file, shared the way the server shares it."""
    engine = open_engine(str(tmp_path / "home.duckdb"))
    resources.set_engine(engine)
    yield engine
    resources.set_engine(None)
    engine.store.close()


def _user(engine: Engine, name: str) -> dict:
    return engine.store.get_user(name)


def test_intro_says_where_to_start() -> None:
    text = intro_markdown()
    assert "**Builder**" in text and "`loopgate decide`" in text and "/api/docs" in text


def test_demo_hint_lists_every_demo_account_while_the_password_works(shared: Engine) -> None:
    seed_demo(shared)
    hint = demo_accounts_hint()
    assert hint is not None and f"`{DEMO_PASSWORD}`" in hint
    for name, display, _, _ in DEMO_USERS:
        assert f"`{name}` ({display.split('(')[1].rstrip(')')})" in hint


def test_no_demo_hint_once_the_demo_password_is_gone(shared: Engine) -> None:
    assert demo_accounts_hint() is None  # no demo accounts at all
    add_user(shared.store, "ada", roles=["admin"], teams=[], password="a-real-password-now")
    assert demo_accounts_hint() is None


def test_overview_and_queues(shared: Engine) -> None:
    add_user(shared.store, "root", roles=["admin"], teams=[])
    empty = overview(_user(shared, "root"))
    assert (empty["workflows"], empty["pending"], empty["total_runs"]) == ([], 0, 0)
    seed_demo(shared)
    data = overview(_user(shared, "ada"))
    assert len(data["workflows"]) == len(list((ROOT / "examples").glob("*.yaml")))
    assert data["total_runs"] == sum(data["runs"].values()) > 0
    assert data["pending"] > 0
    assert my_queue(_user(shared, "ada")) == data["pending"]  # an admin sees every team's
    assert 0 < my_queue(_user(shared, "rae")) <= data["pending"]
    add_user(shared.store, "nel", roles=["reviewer"], teams=["nobody"])
    assert my_queue(_user(shared, "nel")) == 0


def test_overview_shows_a_user_only_what_they_may_see(shared: Engine) -> None:
    seed_demo(shared)
    everything = overview(_user(shared, "ada"))
    add_user(shared.store, "nel", roles=["reviewer"], teams=["nobody"])
    nel = overview(_user(shared, "nel"))
    assert nel["pending"] == my_queue(_user(shared, "nel")) < everything["pending"]
    assert nel["total_runs"] < everything["total_runs"]
