"""The Dashboard page through Streamlit's AppTest: who may open it, tiles, charts, CSVs,
filters, the what-if and the empty state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from builder.shell import resources
from runtime import open_engine
from tests.runtime.queries.analytics_data import at, build, make_users

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The analytics test data set (runs, decisions, deadlines) as the app's database,
    with the engine's clock two hours after the last event."""
    db = tmp_path / "dash.duckdb"
    monkeypatch.setenv("LOOPGATE_DB", str(db))
    engine = open_engine(str(db))
    build(engine)
    engine.clock = lambda: at(240)
    resources.set_engine(engine)
    yield
    resources.set_engine(None)
    engine.store.close()


@pytest.fixture()
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A database with users and nothing else."""
    db = tmp_path / "empty.duckdb"
    monkeypatch.setenv("LOOPGATE_DB", str(db))
    engine = open_engine(str(db))
    make_users(engine.store)
    resources.set_engine(engine)
    yield
    resources.set_engine(None)
    engine.store.close()


def dashboard(user: str) -> AppTest:
    at_ = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at_.session_state["lg_user"] = user
    at_.run()
    at_.switch_page("pages/dashboard.py").run()
    assert not at_.exception, at_.exception
    return at_


def _metrics(app: AppTest) -> dict[str, tuple[str, str | None]]:
    return {m.label: (m.value, m.delta) for m in app.metric}


def test_the_auditor_sees_tiles_charts_and_downloads(recorded: None) -> None:
    app = dashboard("aud")
    tiles = _metrics(app)
    assert tiles["Approval rate"][0] == "50.0%"
    assert tiles["Override rate"][0] == "75.0%"
    assert tiles["Backlog by age"][0] == "2"
    assert tiles["Time to decision"][0] == "40.0 min"
    # eleven figures with data and the what-if curve; no choice checkpoint ran, so the
    # choice shares have no chart, but every figure (twelve) and the curve has its CSV
    assert len(app.get("vega_lite_chart")) == 12
    assert len(app.get("download_button")) == 13
    assert any("reviews saved" in str(m.label).lower() for m in app.metric)
    assert any("never reviewed" in w.value for w in app.warning)


def test_a_filter_changes_the_figures(recorded: None) -> None:
    app = dashboard("ada")
    app.selectbox(key="dash_f_team").select("t2").run()
    assert not app.exception
    assert _metrics(app)["Approval rate"][0] == "50.0%"  # a1 approved, a2 rejected
    assert _metrics(app)["Override rate"][0] == "n/a"  # t2 has no AI checkpoint
    app.selectbox(key="dash_f_team").select("All").run()
    app.selectbox(key="dash_f_workflow").select("gate").run()
    app.selectbox(key="dash_f_node").select("g").run()
    assert _metrics(app)["Approval rate"][0] == "50.0%"
    assert _metrics(app)["Current threshold"][0] == "0.80"
    app.selectbox(key="dash_f_period").select("Last 24 hours").run()
    assert not app.exception
    assert "Showing 2026-03-01 13:00 to 2026-03-02 13:00 UTC" in app.caption[0].value


def test_others_get_no_dashboard_and_are_refused(recorded: None) -> None:
    for user in ("dev", "ops", "mia"):
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
        app.session_state["lg_user"] = user
        app.run()
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            app.switch_page("pages/dashboard.py")
        # opened directly, the page refuses too
        page = AppTest.from_file(str(ROOT / "pages" / "dashboard.py"), default_timeout=30)
        page.session_state["lg_user"] = user
        page.run()
        assert any("needs the role auditor" in e.value for e in page.error), user
        assert not page.metric


def test_an_empty_store_says_what_to_do(empty: None) -> None:
    app = dashboard("aud")
    assert any("No runs yet" in i.value for i in app.info)
    assert not app.metric
