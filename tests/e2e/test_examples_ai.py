"""End to end over the AI examples, through the CLI in subprocesses: the shipped classifier
routes refund requests, the extractor reads invoices, reviewers correct and fill in, and
`loopgate model train` turns the corrections into a new model version."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.e2e.clihelp import EXAMPLES, loopgate
from tests.e2e.test_examples import decide, finish, path_of, run_items

REVIEWERS = {"sue": "support", "fin": "finance", "ann": "finance"}


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "e2e-ai.duckdb"
    for name, team in REVIEWERS.items():
        loopgate(path, "users", "add", name, "--role", "reviewer", "--team", team)
    loopgate(path, "users", "add", "dee", "--role", "designer")
    return path


def records(db: Path, table: str) -> dict[str, dict]:
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "SELECT key, value FROM current_records WHERE table_name = ? ORDER BY key", [table]
    ).fetchall()
    con.close()
    return {key: json.loads(value) for key, value in rows}


def test_examples_validate_strictly(tmp_path: Path) -> None:
    for name in ("refund-requests", "invoice-intake", "ticket-routing"):
        res = loopgate(
            tmp_path / "unused.duckdb", "validate", "--strict", str(EXAMPLES / f"{name}.yaml")
        )
        assert res.out.strip().endswith(": ok")


def test_refund_requests_learn_from_the_support_team(db: Path, tmp_path: Path) -> None:
    kettle, plan, crash, sofa, courier = run_items(db, "refund-requests")
    for run in (kettle, plan, crash, sofa, courier):
        intent = run["outputs"]["intent"]
        assert (intent["model"], intent["model_version"], intent["provider"]) == (
            "support-intents",
            1,
            "builtin",
        )
    for run in (kettle, plan, crash):  # confident; approve any drawn for the audit sample
        if run["status"] == "waiting" and run["waiting_on"] == "unsure":
            run.update(decide(db, run["review_id"], "--action", "approve", "--by", "sue"))
    assert kettle["result"] == "refunded"
    assert path_of(db, kettle["run_id"]) == [
        "intake",
        "intent",
        "unsure",
        "is_refund",
        "over_limit",
        "refund",
        "done",
    ]
    assert crash["result"] == "not_a_refund"
    assert "other_queue" in path_of(db, crash["run_id"])

    assert plan["waiting_on"] == "over_limit" and plan["team"] == "finance"
    assert decide(db, plan["review_id"], "--action", "approve", "--by", "fin")["result"] == (
        "refunded"
    )

    # The calibrated model is right and sure about the sofa (a refund); an audit sample
    # may still show it to support first. Either way 650 EUR needs finance.
    res = sofa
    if sofa["waiting_on"] == "unsure":
        res = decide(db, sofa["review_id"], "--action", "approve", "--by", "sue")
    assert sofa["outputs"]["intent"]["label"] == "refund"
    assert res["waiting_on"] == "over_limit" and res["team"] == "finance"
    res = decide(
        db, res["review_id"], "--action", "reject", "--reason", "outside_policy", "--by", "fin"
    )
    assert res["result"] == "declined"

    assert courier["waiting_on"] == "unsure"
    assert courier["outputs"]["intent"]["label"] == "shipping"  # a lost parcel refund: wrong
    res = decide(
        db,
        courier["review_id"],
        "--action",
        "edit",
        "--data",
        '{"intent.label": "refund"}',
        "--by",
        "sue",
    )
    assert res["result"] == "refunded"
    assert res["outputs"]["unsure"]["corrections"] == [
        {"path": "intent.label", "node": "intent", "before": "shipping", "after": "refund"}
    ]

    refunds = records(db, "refunds")
    assert sorted(refunds) == ["C-101", "C-102", "C-105"]
    assert refunds["C-102"]["approved_by"] == "fin"
    assert refunds["C-101"]["approved_by"] == "policy"

    out = tmp_path / "feedback.jsonl"
    loopgate(db, "export", "feedback", "--format", "jsonl", "--out", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    edit = [r for r in rows if r["action"] == "edit"]
    assert [
        (r["path"], r["ai_output"], r["human_output"], r["model"], r["model_version"]) for r in edit
    ] == [("intent.label", "shipping", "refund", "support-intents", "1")]

    # The support team's answers become the next version of the model.
    trained = loopgate(db, "model", "train", "support-intents", "--by", "dee")
    assert "support-intents v2 trained on" in trained.out
    assert "from reviewer feedback" in trained.out and "(v1 -> v2)" in trained.out
    listed = loopgate(db, "model", "list", "--json").lines
    assert [(m["name"], m["version"], m["source"]) for m in listed] == [
        ("support-intents", 2, "feedback"),
        ("support-intents", 1, "shipped"),
    ]
    assert listed[0]["metrics"]["n_feedback"] >= 1  # at least the courier correction
    item = json.dumps(
        {
            "customer_id": "C-106",
            "amount": 20,
            "message": "My parcel was lost by the courier. Please pay me back the 40 EUR",
        }
    )
    again = loopgate(
        db, "run", str(EXAMPLES / "refund-requests.yaml"), "--item", item, "--json"
    ).lines[0]
    assert again["outputs"]["intent"]["model_version"] == 2
    if again["status"] == "waiting":
        decide(
            db,
            again["review_id"],
            "--action",
            "edit",
            "--data",
            '{"intent.label": "refund"}',
            "--by",
            "sue",
        )
    finish(db)


def test_invoice_intake_fills_what_the_extractor_missed(db: Path) -> None:
    clean, ambiguous, no_number, lunch = run_items(db, "invoice-intake")
    assert clean["result"] == "recorded"
    assert clean["outputs"]["extract"]["missing"] == []
    assert clean["outputs"]["extract"]["model"] == "rules"
    assert "check" in path_of(db, clean["run_id"]) and "fill" not in path_of(db, clean["run_id"])

    assert ambiguous["waiting_on"] == "check" and ambiguous["team"] == "finance"
    date = ambiguous["outputs"]["extract"]["fields"]["date"]
    assert date == {"value": "2026-04-03", "confidence": 0.6}  # 03/04/2026: which is the day?
    assert decide(db, ambiguous["review_id"], "--action", "approve", "--by", "ann")["result"] == (
        "recorded"
    )

    assert no_number["outputs"]["extract"]["missing"] == ["invoice_number"]
    res = decide(db, no_number["review_id"], "--action", "approve", "--by", "ann")
    assert res["waiting_on"] == "fill"
    partial = loopgate(
        db,
        "decide",
        res["review_id"],
        "--action",
        "submit",
        "--data",
        '{"invoice_number": "INV-0099"}',
        "--by",
        "ann",
        check=False,
    )
    assert partial.code == 1 and "required form field(s) missing" in partial.err
    form = {
        "invoice_number": "INV-0099",
        "amount": 980,
        "currency": "EUR",
        "email": "anna@studio.example",
        "date": "2026-03-12",
    }
    res = decide(
        db, res["review_id"], "--action", "submit", "--data", json.dumps(form), "--by", "ann"
    )
    assert res["result"] == "recorded"

    assert lunch["outputs"]["extract"]["confidence"] == 0
    res = decide(
        db, lunch["review_id"], "--action", "reject", "--reason", "not_an_invoice", "--by", "ann"
    )
    assert res["result"] == "rejected"

    invoices = records(db, "invoices")
    assert sorted(invoices) == ["88123", "INV-0099", "INV-2026-0042"]
    assert invoices["INV-2026-0042"] == {
        "amount": 1250.0,
        "currency": "EUR",
        "email": "billing@acme.example",
        "date": "2026-03-31",
        "message_id": "M-301",
    }
    assert invoices["INV-0099"]["amount"] == 980.0 and invoices["INV-0099"]["message_id"] == "M-303"
    finish(db)
