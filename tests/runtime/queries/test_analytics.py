"""runtime.queries.analytics against hand-computed answers on the data set of
``analytics_data`` (made through the engine), plus the empty and single-item cases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from runtime.engine import Engine
from runtime.errors import AccessError, NotFoundError
from runtime.queries import analytics as A
from runtime.services import default_services
from runtime.store import Store
from tests.runtime.queries.analytics_data import (
    approval_spec,
    at,
    build,
    clock,
    make_users,
)

ALL = A.AnalyticsFilter()
NOW = at(180)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The fixed data set, built once for the module (the queries only read)."""
    store = Store(tmp_path_factory.mktemp("analytics") / "a.duckdb")
    engine = Engine(store, services=default_services(store))
    build(engine)
    yield engine
    store.close()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty store with the data set's users."""
    store = Store(tmp_path / "e.duckdb")
    engine = Engine(store, services=default_services(store))
    make_users(store)
    engine.forget_users()
    yield engine
    store.close()


def q(engine: Engine, name: str, user: str | None = None, **filters: Any) -> A.Figure:
    record = engine.store.get_user(user) if user else None
    return A.run_query(engine.store, record, name, A.AnalyticsFilter(**filters), now=NOW)


def test_approval_edit_and_override_rates(data: Engine) -> None:
    fig = q(data, "approval_rate")
    # people: approve x2 + edit (approvals) vs reject x3; the escalation is neither
    assert (fig.value, fig.summary) == (0.5, {"approved": 3, "rejected": 3, "edited": 1})
    assert q(data, "edit_rate").value == pytest.approx(1 / 6)
    over = q(data, "override_rate")
    # the gate's 4 decisions judged AI output: the edit and both rejections overrode it
    assert (over.value, over.summary) == (0.75, {"overridden": 3, "judged": 4})


def test_rejection_reasons_include_deadline_defaults(data: Engine) -> None:
    fig = q(data, "rejection_reasons")
    assert fig.value == 4
    assert {r["reason"]: r["n"] for r in fig.rows} == {
        "deadline": 1,
        "spam": 1,
        "too_high": 1,
        "wrong": 1,
    }
    assert q(data, "rejection_reasons", workflow_id="gate").value == 2


def test_timeouts_defaults_and_deadline_escalations(data: Engine) -> None:
    fig = q(data, "timeout_rate")
    assert fig.value == pytest.approx(3 / 10)
    assert fig.summary == {"timed_out": 1, "defaulted": 1, "escalated": 1, "settled": 10}


def test_time_to_decision_percentiles(data: Engine) -> None:
    fig = q(data, "time_to_decision")
    # seconds: 600 1200 1800 2400 2700 3300 3480 (people only, the escalation included)
    assert fig.summary["n"] == 7
    assert fig.value == 2400
    assert fig.summary["p95"] == pytest.approx(3300 + 0.7 * 180)
    assert fig.summary["mean"] == pytest.approx(15480 / 7)


def test_backlog_by_age_at_the_windows_end(data: Engine) -> None:
    noon = q(data, "backlog", until=at(180))  # 12:00: the two escalated reviews wait
    assert noon.value == 2
    assert [r["n"] for r in noon.rows] == [1, 1, 0, 0, 0]
    assert noon.summary["oldest_seconds"] == 8100  # 09:45 -> 12:00
    ten = q(data, "backlog", until=at(60))  # 10:00: a3, tmo, esc (1 h) and a4' (15 min)
    assert [r["n"] for r in ten.rows] == [1, 3, 0, 0, 0]
    assert q(data, "backlog", until=at(60), team="t1").value == 1


def test_automation_rate_per_period(data: Engine) -> None:
    fig = q(data, "automation_rate")
    # finished: 7 gate + 2 auto + 3 appr + 1 tmo; no review: 3 gate passes + 2 auto
    assert fig.summary["finished"] == 13 and fig.summary["automated"] == 5
    assert fig.value == pytest.approx(5 / 13)
    hourly = q(data, "automation_rate", since=at(0), until=at(120))
    assert hourly.summary["bucket"] == "hour"
    assert [(r["period"].hour, r["finished"], r["automated"]) for r in hourly.rows] == [
        (9, 11, 5),
        (10, 2, 0),
    ]
    assert q(data, "automation_rate", team="t1").ignored_filters == ["team"]


def test_escalations_by_team_and_source(data: Engine) -> None:
    fig = q(data, "escalations")
    assert fig.value == 2
    assert sorted((r["team"], r["source"], r["n"]) for r in fig.rows) == [
        ("t1", "deadline", 1),
        ("t1", "reviewer", 1),
    ]


def test_throughput_per_reviewer(data: Engine) -> None:
    fig = q(data, "throughput", since=at(0), until=at(0) + timedelta(days=1))
    rows = {r["reviewer"]: r for r in fig.rows}
    assert [r["reviewer"] for r in fig.rows] == ["mia", "max"]
    assert rows["mia"] | {} == {
        "reviewer": "mia",
        "decisions": 4,
        "approved": 2,
        "rejected": 2,
        "edited": 1,
        "escalated": 0,
        "median_seconds": 1800.0,
        "per_day": 4.0,
    }
    assert (rows["max"]["decisions"], rows["max"]["escalated"]) == (3, 1)
    assert rows["max"]["median_seconds"] == 2700.0


def test_calibration_and_expected_calibration_error(data: Engine) -> None:
    fig = q(data, "calibration")
    # 0.75 kept (agree), 0.6 edited, 0.4 and 0.3 rejected: one item per bucket
    assert [(r["bucket"], r["agreement"]) for r in fig.rows] == [
        ("0.3-0.4", 0.0),
        ("0.4-0.5", 0.0),
        ("0.6-0.7", 0.0),
        ("0.7-0.8", 1.0),
    ]
    assert fig.value == pytest.approx((0.25 + 0.6 + 0.4 + 0.3) / 4)


def test_every_filter_narrows(data: Engine) -> None:
    assert q(data, "approval_rate", team="t2").summary == {
        "approved": 1,
        "rejected": 1,
        "edited": 0,
    }
    assert q(data, "approval_rate", reviewer="mia").value == 0.5
    assert q(data, "approval_rate", workflow_id="gate", node_id="g").value == 0.5
    assert q(data, "approval_rate", workflow_id="appr", workflow_version=1).value == 0.5
    assert q(data, "approval_rate", workflow_id="appr", workflow_version=2).value is None
    assert q(data, "approval_rate", node_id="nowhere").value is None
    # decided in [09:30, 10:00): a1 approved; g0.3, g0.4, a2 rejected; a4 escalated
    window = q(data, "approval_rate", since=at(30), until=at(60))
    assert window.summary == {"approved": 1, "rejected": 3, "edited": 0}


def test_kpis_compare_with_the_previous_period(data: Engine) -> None:
    tiles = {
        k.name: k
        for k in A.kpis(data.store, None, A.AnalyticsFilter(since=at(30), until=at(60)), now=NOW)
    }
    assert set(tiles) == set(A.KPI_NAMES)
    appr = tiles["approval_rate"]
    # before: [09:00, 09:30) had the approve and the edit
    assert (appr.value, appr.previous, appr.change) == (0.25, 1.0, -0.75)
    # pending at 10:00: 4; at 09:30: g0.3, g0.4, a2, a3, a4, tmo, esc
    assert (tiles["backlog"].value, tiles["backlog"].previous) == (4, 7)
    open_ended = A.kpis(data.store, None, ALL, now=NOW)
    assert all(k.previous is None and k.change is None for k in open_ended)


def test_who_may_read(data: Engine) -> None:
    for who in ("ada", "aud"):
        assert q(data, "approval_rate", who).value == 0.5
    # max (team t2) sees t2's reviews only
    assert q(data, "approval_rate", "max").summary["approved"] == 1
    assert q(data, "escalations", "max").value is None  # both went to t1
    with pytest.raises(AccessError, match="may not read analytics of team t1"):
        q(data, "approval_rate", "max", team="t1")
    for who in ("dev", "ops"):
        with pytest.raises(AccessError, match="may not read analytics"):
            q(data, "approval_rate", who)
    with pytest.raises(AccessError):
        A.dimensions(data.store, data.store.get_user("dev"))
    assert A.dimensions(data.store, data.store.get_user("max"))["teams"] == ["t2"]


def test_bad_filters_say_what_is_wrong(data: Engine) -> None:
    with pytest.raises(ValidationError, match="the window is empty"):
        A.AnalyticsFilter(since=at(60), until=at(0))
    with pytest.raises(ValidationError, match="workflow_version needs workflow_id"):
        A.AnalyticsFilter(workflow_version=2)
    with pytest.raises(ValueError, match="no analytics query 'nope'"):
        A.run_query(data.store, None, "nope", ALL, now=NOW)


def test_dimensions_list_what_the_filters_offer(data: Engine) -> None:
    dims = A.dimensions(data.store, None)
    assert dims["workflows"] == {"appr": [1], "auto": [1], "esc": [1], "gate": [1], "tmo": [1]}
    assert dims["gates"] == {"gate": ["g"]}
    assert dims["teams"] == ["t1", "t2"]
    assert dims["reviewers"] == ["max", "mia"]


def test_an_empty_store_gives_empty_figures(fresh: Engine) -> None:
    for name in A.QUERIES:
        fig = q(fresh, name)
        assert fig.value in (None, 0), name
        assert all(r.get("n", 0) == 0 for r in fig.rows), name
    assert A.dimensions(fresh.store, None)["workflows"] == {}


def test_a_single_decision(fresh: Engine) -> None:
    set_time = clock(fresh)
    wf = fresh.save_workflow(approval_spec("one", team="t1"))
    run = fresh.start(wf, {"n": 1}, by="ops")
    set_time(at(5))
    fresh.decide(run.review_id, {"action": "approve"}, by="mia")
    assert q(fresh, "approval_rate").value == 1.0
    assert q(fresh, "override_rate").value is None  # no AI output judged
    stats = q(fresh, "time_to_decision").summary
    assert stats == {"n": 1, "p50": 300.0, "p95": 300.0, "mean": 300.0}
    assert q(fresh, "automation_rate").value == 0.0
    assert q(fresh, "backlog").value == 0
    assert q(fresh, "throughput").rows[0]["decisions"] == 1


def test_what_if_on_the_recorded_gate(data: Engine) -> None:
    w = A.threshold_what_if(
        data.store, None, A.AnalyticsFilter(workflow_id="gate", node_id="g"), target_error_rate=0
    )
    assert (w.current_threshold, w.reviewed, w.corrected, w.passed_unreviewed) == (0.8, 4, 3, 3)
    cur = w.current()
    assert (cur.reviews, cur.passed, cur.slipped_observed, cur.lower_bound) == (4, 3, 0, True)
    half = next(p for p in w.points if p.threshold == 0.5)
    # 0.3 and 0.4 still reviewed; 0.6 (edited) and 0.75 would pass: one correction slips
    assert (half.reviews, half.reviews_saved, half.passed, half.slipped_observed) == (
        2,
        2,
        5,
        1,
    )
    assert half.error_rate == pytest.approx(1 / 5) and half.slipped_estimated is None
    # lowest threshold with no known error: just above the edited 0.6 (a lower bound)
    assert (w.recommended, w.recommended_is_estimate) == (0.61, True)
    assert any("never reviewed" in n for n in w.notes)
    assert any("no audit sample" in n for n in w.notes)


def test_what_if_needs_a_gate(data: Engine) -> None:
    with pytest.raises(ValueError, match="needs a workflow and its confidence gate"):
        A.threshold_what_if(data.store, None, A.AnalyticsFilter(workflow_id="gate"))
    with pytest.raises(NotFoundError, match="has no confidence gate 'check'"):
        A.threshold_what_if(
            data.store, None, A.AnalyticsFilter(workflow_id="appr", node_id="check")
        )
    with pytest.raises(AccessError):
        A.threshold_what_if(
            data.store,
            data.store.get_user("dev"),
            A.AnalyticsFilter(workflow_id="gate", node_id="g"),
        )


REVIEWED = [
    {"milli": 300, "sampled": False, "n": 2, "overridden": 2},
    {"milli": 500, "sampled": False, "n": 4, "overridden": 1},
    {"milli": 700, "sampled": False, "n": 4, "overridden": 0},
    {"milli": 850, "sampled": True, "n": 2, "overridden": 1},
    {"milli": 950, "sampled": True, "n": 2, "overridden": 0},
]
PASSES = [{"milli": 850, "n": 2}, {"milli": 950, "n": 6}]


@pytest.mark.parametrize(
    ("t", "reviews", "saved", "passed", "observed", "estimated", "error"),
    [
        (0.8, 10, 0, 12, 1, 2.0, 3 / 12),  # the sample: 1 of 4 wrong -> 2 of 8 unreviewed
        (0.6, 6, 4, 16, 1, 2.0, 3 / 16),
        (0.4, 2, 8, 20, 2, 2.0, 4 / 20),
        (0.0, 0, 10, 22, 4, 2.0, 6 / 22),
        (0.9, 14, -4, 8, 0, 0.0, 0.0),  # above 0.9 the sample saw no error
    ],
)
def test_replay_by_hand(t, reviews, saved, passed, observed, estimated, error) -> None:
    points, _, _ = A.replay(REVIEWED, PASSES, threshold=0.8, target_error_rate=0.1)
    p = next(p for p in points if p.threshold == t)
    assert (p.reviews, p.reviews_saved, p.passed, p.slipped_observed) == (
        reviews,
        saved,
        passed,
        observed,
    )
    assert p.slipped_estimated == pytest.approx(estimated)
    assert p.error_rate == pytest.approx(error)
    assert not p.lower_bound


def test_replay_recommends_the_lowest_threshold_meeting_the_target() -> None:
    assert A.replay(REVIEWED, PASSES, threshold=0.8, target_error_rate=0.2)[1:] == (0.31, True)
    assert A.replay(REVIEWED, PASSES, threshold=0.8, target_error_rate=0.1)[1] == 0.86
    points, best, _ = A.replay([], [], threshold=0.8, target_error_rate=0.1)
    assert best is None and all(p.error_rate is None for p in points)
    # an off-grid current threshold is on the curve
    assert any(
        p.threshold == 0.815
        for p in A.replay(REVIEWED, PASSES, threshold=0.815, target_error_rate=0)[0]
    )


CHOICE = """
id: routing
name: Routing
nodes:
  - {id: start, type: trigger}
  - id: pick
    type: choice
    params: {options: [a, b, c], team: leads, multiple: true, deadline: 1d,
             on_timeout: default, default_option: b}
  - {id: done, type: end}
edges:
  - {from: start, to: pick}
  - {from: pick, to: done, branch: a}
  - {from: pick, to: done, branch: b}
  - {from: pick, to: done, branch: c}
"""


def test_choice_shares_per_option(fresh: Engine) -> None:
    from runtime.auth import add_user
    from runtime.nodes import Decision
    from runtime.spec import loads_yaml

    add_user(fresh.store, "lee", roles=["reviewer"], teams=["leads"])
    wf = loads_yaml(CHOICE)
    runs = [fresh.start(wf, {"n": i}) for i in range(4)]
    for run, option in zip(runs[:3], ["a", "a", ["a", "c"]], strict=True):
        fresh.decide(run.review_id, Decision(action="choose", option=option), by="lee")
    fresh.sweep(now=fresh.clock() + timedelta(days=2))  # the fourth takes the default, b
    fig = A.run_query(fresh.store, None, "choice_shares", ALL, now=fresh.clock())
    assert fig.summary == {"picks": 5, "checkpoints": 1}
    assert [(r["checkpoint"], r["option"], r["n"], r["share"]) for r in fig.rows] == [
        ("routing/pick", "a", 3, 0.6),
        ("routing/pick", "b", 1, 0.2),
        ("routing/pick", "c", 1, 0.2),
    ]
    assert (
        A.run_query(
            fresh.store,
            None,
            "choice_shares",
            A.AnalyticsFilter(workflow_id="x"),
            now=fresh.clock(),
        ).rows
        == []
    )
