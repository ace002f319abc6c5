"""Conformance: the analytics aggregates (``AnalyticsReads``) count, filter and bind."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runtime.domain import Event, Settlement, WriteBatch
from runtime.store.contract import AnalyticsScope, Store
from tests.store.contract.records import T0, review, run

ALL = AnalyticsScope()


def _at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def _data(store: Store) -> None:
    """Five runs of ``wf``: r1 approval (managers) approved by mia after 10 min; r2 gate at
    0.72 rejected by rio (risk) after 20 min; r3 gate sampled at 0.91, approved by mia
    after 30 min (its output kept, a feedback row); r4's approval escalated by mia to risk
    (r4e pending); r5 passed the gate at 0.95 with no review and finished."""
    batch = WriteBatch()
    for i in range(1, 6):
        rid = f"r{i}"
        finished = {"status": "succeeded", "finished_at": _at(40), "current_node": None}
        batch.runs[rid] = run(rid, **(finished if i in (1, 2, 3, 5) else {}))
    gate = {"kind": "confidence_gate", "node_id": "g", "team": "risk"}
    batch.reviews += [
        review("v1", "r1"),
        review("v2", "r2", display={"confidence": 0.72, "sampled": False}, **gate),
        review("v3", "r3", display={"confidence": 0.91, "sampled": True}, **gate),
        review("v4", "r4"),
        review("v4e", "r4", minute=25, team="risk", escalated_from="v4"),
    ]
    batch.feedback.append(
        {
            "id": "fb1",
            "run_id": "r3",
            "review_id": "v3",
            "workflow_id": "wf",
            "checkpoint_id": "g",
            "node_id": "ai",
            "path": None,
            "input": {},
            "ai_output": {"label": "x"},
            "human_output": {"label": "x"},
            "reviewer": "mia",
            "action": "approve",
            "reason": None,
            "note": None,
            "rating": None,
            "model": None,
            "model_version": None,
            "created_at": _at(30),
        }
    )
    batch.events.append(
        Event(
            kind="step",
            run_id="r5",
            node_id="g",
            at=_at(1),
            data={
                "type": "confidence_gate",
                "branch": "pass",
                "step": 3,
                "output": {"confident": True, "sampled": False, "confidence": 0.95},
            },
        )
    )
    store.commit(batch)

    def settle(rid: str, by: str, action: str, minute: int, reason: str | None = None):
        return Settlement(
            id=rid,
            status="decided",
            decided_by=by,
            decided_at=_at(minute),
            action=action,
            reason=reason,
        )

    with store.unit_of_work() as uow:
        uow.settle(
            [
                settle("v1", "mia", "approve", 10),
                settle("v2", "rio", "reject", 20, "wrong"),
                settle("v3", "mia", "approve", 30),
                settle("v4", "mia", "escalate", 25),
            ]
        )


def test_decision_outcomes_and_times(store: Store) -> None:
    _data(store)
    got = {(r["action"], r["by_system"], r["reason"]): r["n"] for r in store.decision_outcomes(ALL)}
    assert got == {
        ("approve", False, None): 2,
        ("reject", False, "wrong"): 1,
        ("escalate", False, None): 1,
    }
    stats = store.decision_time_stats(ALL)
    assert stats["n"] == 4 and stats["p50"] == pytest.approx(22.5 * 60)
    assert store.decision_time_stats(AnalyticsScope(reviewer="rio"))["mean"] == 1200
    assert store.decision_time_stats(AnalyticsScope(reviewer="nobody"))["p50"] is None


def test_backlog_automation_escalations(store: Store) -> None:
    _data(store)
    ages = store.backlog_ages(AnalyticsScope(until=_at(85)), [3600.0])
    assert ages == [{"bucket": 1, "n": 1, "oldest": 3600.0}]  # v4e, waiting since :25
    early = store.backlog_ages(AnalyticsScope(until=_at(15)), [600.0, 3600.0])
    assert [(r["bucket"], r["n"]) for r in early] == [(1, 3)]  # v2, v3, v4 (v1 settled)
    with pytest.raises(ValueError, match="until"):
        store.backlog_ages(ALL, [60.0])
    series = store.automation_series(ALL, "day")
    assert [(r["finished"], r["automated"]) for r in series] == [(4, 1)]
    with pytest.raises(ValueError, match="bucket"):
        store.automation_series(ALL, "month")  # type: ignore[arg-type]
    assert store.escalation_counts(ALL) == [{"team": "risk", "source": "reviewer", "n": 1}]


def test_throughput_and_ai_judgments(store: Store) -> None:
    _data(store)
    rows = {r["reviewer"]: r for r in store.reviewer_throughput(ALL)}
    assert (rows["mia"]["decisions"], rows["mia"]["approved"], rows["mia"]["escalated"]) == (
        3,
        2,
        1,
    )
    assert rows["rio"]["rejected"] == 1 and rows["rio"]["median_seconds"] == 1200
    assert store.ai_judgments(ALL) == {"judged": 2, "overridden": 1}
    conf = {(r["milli"], r["sampled"]): r for r in store.judged_confidences(ALL)}
    assert set(conf) == {(720, False), (910, True)}
    assert (conf[720, False]["n"], conf[720, False]["overridden"]) == (1, 1)
    assert conf[910, True]["confidence_sum"] == pytest.approx(0.91)
    assert store.gate_passes(AnalyticsScope(node_id="g")) == [{"milli": 950, "n": 1}]
    assert store.gate_passes(AnalyticsScope(node_id="g", since=_at(2))) == []
    with pytest.raises(ValueError, match="node_id"):
        store.gate_passes(ALL)


def test_scopes_filter_and_bind(store: Store) -> None:
    _data(store)
    risk = AnalyticsScope(teams=("risk",))
    assert {r["action"] for r in store.decision_outcomes(risk)} == {"reject", "approve"}
    assert store.ai_judgments(AnalyticsScope(team="managers")) == {"judged": 0, "overridden": 0}
    window = AnalyticsScope(since=_at(15), until=_at(26))
    assert [r["action"] for r in store.decision_outcomes(window)] == ["escalate", "reject"]
    assert store.decision_outcomes(AnalyticsScope(workflow_version=2)) == []
    sneaky = AnalyticsScope(workflow_id="wf' OR '1'='1")
    assert (
        store.decision_outcomes(sneaky) == []
        and store.gate_passes(AnalyticsScope(node_id="g' OR '1'='1")) == []
    )
    dims = store.analytics_dimensions()
    assert dims["workflows"] == [("wf", 1)]
    assert dims["nodes"] == [("wf", "check", "approval"), ("wf", "g", "confidence_gate")]
    assert (dims["teams"], dims["reviewers"]) == (["managers", "risk"], ["mia", "rio"])


def test_an_empty_store_aggregates_to_nothing(store: Store) -> None:
    assert store.decision_outcomes(ALL) == []
    assert store.decision_time_stats(ALL) == {"n": 0, "p50": None, "p95": None, "mean": None}
    assert store.backlog_ages(AnalyticsScope(until=T0), [60.0]) == []
    assert store.automation_series(ALL, "week") == []
    assert store.ai_judgments(ALL) == {"judged": 0, "overridden": 0}
    assert store.analytics_dimensions() == {
        "workflows": [],
        "nodes": [],
        "teams": [],
        "reviewers": [],
    }


def test_gate_passes_keep_to_their_workflow(store: Store) -> None:
    """Two workflows with a node ``g``: each one's passes are its own; with the node id
    unique, the window alone decides."""
    spec = {"nodes": [{"id": "g", "type": "confidence_gate"}]}
    for wf in ("wf", "other"):
        store.save_workflow(
            {"id": wf, **spec}, digest=wf, name=wf, status="published", by=None, message=None
        )
    batch = WriteBatch()
    for rid, wf, conf in (("p1", "wf", 0.91), ("p2", "other", 0.97), ("p3", "other", 0.97)):
        batch.runs[rid] = run(rid, workflow_id=wf)
        output = {"confident": True, "sampled": False, "confidence": conf}
        batch.events.append(
            Event(
                kind="step",
                run_id=rid,
                node_id="g",
                at=_at(5),
                data={"type": "confidence_gate", "branch": "pass", "output": output},
            )
        )
    store.commit(batch)
    assert store.gate_passes(AnalyticsScope(workflow_id="wf", node_id="g")) == [
        {"milli": 910, "n": 1}
    ]
    assert store.gate_passes(AnalyticsScope(workflow_id="other", node_id="g")) == [
        {"milli": 970, "n": 2}
    ]
    assert len(store.gate_passes(AnalyticsScope(node_id="g"))) == 2
    assert (
        store.gate_passes(AnalyticsScope(workflow_id="wf", node_id="g", workflow_version=2)) == []
    )
