"""Retraining that helps: a version is promoted only when it is no worse on the same
held-out rows; corrections weigh more; trainings and promotions are audited."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from runtime.auth import add_user
from runtime.cli import main
from runtime.models.errors import ModelError
from runtime.models.registry import ModelRegistry
from runtime.models.retrain_job import retrain_after, retrain_if_due
from runtime.models.shipped import SHIPPED_DATA
from runtime.models.training import (
    CORRECTION_WEIGHT,
    Evaluation,
    FeedbackExamples,
    merge_weighted,
    promotion_verdict,
)
from runtime.store import Store


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def figures(accuracy: float, ece: float, version: int | None = 1) -> Evaluation:
    return Evaluation(accuracy=accuracy, ece=ece, macro_f1=accuracy, n_test=80, version=version)


def test_promotion_verdict_needs_accuracy_and_ece_no_worse() -> None:
    assert promotion_verdict(None, figures(0.8, 0.05, None)) == (True, "first version")
    ok, why = promotion_verdict(figures(0.9, 0.04), figures(0.9, 0.04, None))
    assert ok and why.startswith("promoted: no worse than v1")
    ok, why = promotion_verdict(figures(0.9, 0.04), figures(0.92, 0.08, None))
    assert not ok and "ECE 0.040 -> 0.080" in why and "accuracy" not in why.split("(")[1]
    # Within the ECE's sampling noise on 80 rows (0.2 / sqrt(80) = 0.022): no worse.
    assert promotion_verdict(figures(0.9, 0.04), figures(0.9, 0.06, None))[0]
    ok, why = promotion_verdict(figures(0.9, 0.04), figures(0.85, 0.03, None))
    assert not ok and "accuracy 0.900 -> 0.850" in why and "loopgate model promote" in why


def test_merge_collapses_duplicates_latest_label_wins_and_corrections_weigh_more() -> None:
    feedback = FeedbackExamples(
        texts=["parcel late", "new text", "parcel late"],
        labels=["refund", "technical", "shipping"],
        ids=["f1", "f2", "f3"],
        corrected=[True, False, True],
    )
    texts, labels, weights = merge_weighted(
        ["parcel late", "money back", "money back"], ["refund", "refund", "refund"], feedback
    )
    assert texts == ["money back", "new text", "parcel late"]  # one row per text
    assert labels == ["refund", "technical", "shipping"]  # the latest decision wins
    assert weights == [1.0, 1.0, CORRECTION_WEIGHT]


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def test_a_worse_version_is_saved_but_not_promoted_until_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "promote.duckdb"
    store = Store(db)
    add_user(store, "dee", roles=["designer"], teams=[])
    add_user(store, "rae", roles=["reviewer"], teams=["support"])
    store.close()
    with SHIPPED_DATA.open(newline="") as handle:
        rows = [(r["text"], r["label"]) for r in csv.DictReader(handle)]
    full = write_csv(tmp_path / "full.csv", rows)
    # 4 examples per label: much less to learn from, measured on the same held-out rows.
    few, seen = [], dict.fromkeys({label for _, label in rows}, 0)
    for text, label in rows:
        if seen[label] < 4:
            few.append((text, label))
            seen[label] += 1
    small = write_csv(tmp_path / "small.csv", few)

    code, out, err = cli(
        capsys, "model", "train", "m", "--data", str(full), "--by", "dee", "--db", str(db)
    )
    assert code == 0, err
    assert "calibration: held-out ECE" in out and "first version" in out
    code, out, err = cli(
        capsys, "model", "train", "m", "--data", str(small), "--by", "dee", "--db", str(db)
    )
    assert code == 0, err
    assert "not promoted: worse than v1" in out and "loopgate model promote" in out

    store = Store(db)
    registry = ModelRegistry(store)
    assert store.latest_model_version("m") == 2 and registry.default_version("m") == 1
    assert registry.classifier("m")[1] == 1  # runs keep using v1
    trained = store.audit_events(kind="model.trained")[::-1]  # oldest first
    assert [(e["actor"], e["data"]["version"], e["data"]["promoted"]) for e in trained] == [
        ("dee", 1, True),
        ("dee", 2, False),
    ]
    assert trained[1]["data"]["metrics"]["accuracy"] < trained[1]["data"]["before"]["accuracy"]
    store.close()

    code, _, err = cli(capsys, "model", "promote", "m", "2", "--by", "rae", "--db", str(db))
    assert code == 1 and "may not promote models" in err
    code, _, err = cli(capsys, "model", "promote", "m", "7", "--by", "dee", "--db", str(db))
    assert code == 1 and "has no version 7" in err and err.count("\n") == 1
    code, out, err = cli(
        capsys,
        "model",
        "promote",
        "m",
        "2",
        "--by",
        "dee",
        "--reason",
        "new labels",
        "--db",
        str(db),
    )
    assert code == 0 and "m v2 is now the default (new labels)" in out
    code, out, _ = cli(capsys, "model", "list", "m", "--db", str(db))
    assert out.splitlines()[0].startswith("m v2") and out.splitlines()[0].endswith("(default)")
    store = Store(db)
    assert ModelRegistry(store).classifier("m")[1] == 2
    promoted = store.audit_events(kind="model.promoted")[::-1]
    assert [(e["actor"], e["data"]["version"]) for e in promoted] == [("dee", 1), ("dee", 2)]
    store.close()


def test_retrain_if_due_counts_new_corrections_and_is_off_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert retrain_after({}) == 0
    assert retrain_after({"LOOPGATE_RETRAIN_AFTER": "25"}) == 25
    with pytest.raises(ModelError, match="LOOPGATE_RETRAIN_AFTER='many'"):
        retrain_after({"LOOPGATE_RETRAIN_AFTER": "many"})
    db = tmp_path / "due.duckdb"
    code, out, _ = cli(capsys, "model", "retrain-if-due", "--db", str(db))
    assert code == 0 and "automatic retraining is off" in out
    store = Store(db)
    registry = ModelRegistry(store)
    registry.ensure_shipped()
    assert retrain_if_due(registry, 1) == []  # no corrections yet
    store.close()
    code, out, _ = cli(capsys, "model", "retrain-if-due", "--after", "1", "--db", str(db), "--json")
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert line["name"] == "support-intents" and line["new_corrections"] == 0
    assert line["retrained"] is False


def test_retrain_if_due_retrains_after_enough_corrections_as_system(tmp_path: Path) -> None:
    from runtime.engine import Engine
    from runtime.services import default_services
    from runtime.spec import loads_yaml
    from tests.runtime.test_retraining import CORRECTED, WORKFLOW

    store = Store(tmp_path / "auto.duckdb")
    add_user(store, "rae", roles=["reviewer"], teams=["support"])
    engine = Engine(store, services=default_services(store))
    spec = loads_yaml(WORKFLOW)
    registry = engine.services.models
    for text, label in list(CORRECTED.items())[:3]:
        res = engine.start(spec, {"message": text})
        assert res.status == "waiting", text
        engine.decide(res.review_id, {"action": "edit", "data": {"intent.label": label}}, by="rae")
    assert retrain_if_due(registry, 4) == []  # 3 new corrections: not due at 4
    ((due, report),) = retrain_if_due(registry, 3)
    assert (due.name, due.version, due.new_corrections) == ("support-intents", 1, 3)
    assert report.version == 2 and report.n_feedback == 3
    (event,) = store.audit_events(kind="model.trained", actor="system")[:1]
    assert event["data"]["version"] == 2 and event["data"]["n_corrections"] == 3
    assert retrain_if_due(registry, 1) == []  # v2 used them: nothing new
    store.close()
