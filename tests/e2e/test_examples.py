"""End to end over every example, through the CLI in subprocesses: run the items, decide
the waiting reviews, check each run's final status, path and the audit trail."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.e2e.clihelp import EXAMPLES, loopgate
from tests.mailsink import mail_sink

USERS = {
    "mia": "managers",
    "fin": "finance",
    "rix": "risk",
    "tom": "triage",
    "eda": "editors",
    "sal": "sales",
    "sec": "security",
}


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "e2e.duckdb"
    for name, team in USERS.items():
        loopgate(path, "users", "add", name, "--role", "reviewer", "--team", team)
    return path


def run_items(db: Path, example: str) -> list[dict]:
    res = loopgate(
        db,
        "run",
        str(EXAMPLES / f"{example}.yaml"),
        "--items",
        str(EXAMPLES / "items" / f"{example}.jsonl"),
        "--json",
    )
    return res.lines


def decide(db: Path, review_id: str, *args: str) -> dict:
    return loopgate(db, "decide", review_id, *args, "--json").lines[0]


def show(db: Path, run_id: str) -> dict:
    return loopgate(db, "runs", "show", run_id, "--json").lines[0]


def path_of(db: Path, run_id: str) -> list[str]:
    return [e["node_id"] for e in show(db, run_id)["events"] if e["kind"] in ("step", "audit")]


def finish(db: Path) -> None:
    """Every run is finished, the audit chain verifies, and fails after one row is altered."""
    assert loopgate(db, "reviews", "--json").lines == []
    assert loopgate(db, "runs", "--status", "waiting", "--json").lines == []
    ok = loopgate(db, "audit", "verify")
    assert "intact" in ok.out
    con = duckdb.connect(str(db))
    seq = con.execute("SELECT min(seq) FROM audit_events WHERE kind = 'step'").fetchone()[0]
    con.execute('UPDATE audit_events SET data = \'{"branch": "forged"}\' WHERE seq = ?', [seq])
    con.close()
    bad = loopgate(db, "audit", "verify", check=False)
    assert bad.code == 1
    assert f"audit row {seq}" in bad.err and "altered" in bad.err


def test_expense_approval(db: Path) -> None:
    ann, bob, cho, dan = run_items(db, "expense-approval")
    assert [r["status"] for r in (ann, bob, cho, dan)] == [
        "succeeded",
        "waiting",
        "waiting",
        "succeeded",
    ]
    assert bob["waiting_on"] == "manager"
    edited = decide(
        db, bob["review_id"], "--action", "edit", "--data", '{"amount": 200}', "--by", "mia"
    )
    assert edited["status"] == "succeeded" and edited["result"] == "approved"
    assert edited["outputs"]["manager"]["corrections"][0]["after"] == 200
    rejected = decide(
        db,
        cho["review_id"],
        "--action",
        "reject",
        "--reason",
        "over_policy",
        "--note",
        "needs a quote",
        "--by",
        "mia",
    )
    assert rejected["result"] == "rejected"
    assert path_of(db, ann["run_id"]) == ["submitted", "small", "auto_ok", "paid"]
    assert path_of(db, cho["run_id"]) == ["submitted", "small", "manager", "refused"]
    assert show(db, bob["run_id"])["item"]["amount"] == 200
    again = loopgate(
        db, "decide", bob["review_id"], "--action", "approve", "--by", "mia", check=False
    )
    assert again.code == 1 and "already decided by mia" in again.err
    finish(db)


def test_ticket_routing_keeps_corrections_as_training_data(db: Path, tmp_path: Path) -> None:
    runs = run_items(db, "ticket-routing")
    by_ticket = dict(zip(["T-1001", "T-1002", "T-1003", "T-1004", "T-1005"], runs, strict=True))
    for run in runs:  # the shipped classifier labelled every subject
        classify = run["outputs"]["classify"]
        assert (classify["model"], classify["model_version"]) == ("support-intents", 1)
    assert by_ticket["T-1003"]["outputs"]["classify"]["label"] == "shipping"  # wrong, unsure
    assert by_ticket["T-1003"]["status"] == "waiting"
    assert by_ticket["T-1005"]["status"] == "waiting"
    for ticket, run in by_ticket.items():
        if run["status"] != "waiting":
            continue
        if ticket == "T-1003":
            res = decide(
                db,
                run["review_id"],
                "--action",
                "edit",
                "--data",
                '{"classify.label": "technical"}',
                "--by",
                "tom",
            )
            assert res["outputs"]["route"]["value"] == "technical"
        elif ticket == "T-1005":
            res = decide(
                db, run["review_id"], "--action", "reject", "--reason", "spam", "--by", "tom"
            )
            assert res["result"] == "dropped"
        else:  # a confident ticket drawn for the audit sample
            res = decide(db, run["review_id"], "--action", "approve", "--by", "tom")
            assert res["status"] == "succeeded"
    assert "billing_queue" in path_of(db, by_ticket["T-1001"]["run_id"])
    assert "tech_queue" in path_of(db, by_ticket["T-1002"]["run_id"])
    assert "tech_queue" in path_of(db, by_ticket["T-1003"]["run_id"])
    assert "general_queue" in path_of(db, by_ticket["T-1004"]["run_id"])
    out = tmp_path / "feedback.jsonl"
    loopgate(db, "export", "feedback", "--format", "jsonl", "--out", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    corrected = [r for r in rows if r["action"] == "edit"]
    assert len(corrected) == 1
    assert corrected[0]["path"] == "classify.label"
    assert corrected[0]["human_output"] == "technical"
    assert corrected[0]["ai_output"] == "shipping"
    assert (corrected[0]["model"], corrected[0]["model_version"]) == ("support-intents", "1")
    finish(db)


def test_refund_escalation_path(db: Path) -> None:
    small, mid, big = run_items(db, "refund-escalation")
    assert small["result"] == "refunded"
    assert mid["team"] == "finance" and big["team"] == "finance"
    wrong_team = loopgate(
        db, "decide", mid["review_id"], "--action", "approve", "--by", "rix", check=False
    )
    assert wrong_team.code == 1 and "team finance" in wrong_team.err
    up = decide(
        db,
        mid["review_id"],
        "--action",
        "escalate",
        "--team",
        "risk",
        "--note",
        "customer history looks odd",
        "--by",
        "fin",
    )
    assert up["status"] == "waiting" and up["team"] == "risk"
    pending = loopgate(db, "reviews", "--team", "risk", "--json").lines
    assert [p["id"] for p in pending] == [up["review_id"]]
    assert pending[0]["priority"] == "urgent"  # escalation raises the priority
    assert decide(db, up["review_id"], "--action", "approve", "--by", "rix")["result"] == "refunded"
    res = decide(
        db, big["review_id"], "--action", "reject", "--reason", "fraud_suspected", "--by", "fin"
    )
    assert res["result"] == "declined"
    assert path_of(db, mid["run_id"]) == ["requested", "over_limit", "log_refund", "refunded"]
    finish(db)


def test_feedback_loop_revise_and_resubmit(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with mail_sink() as sink:  # a real SMTP server on 127.0.0.1 for the accepted reply
        monkeypatch.setenv("LOOPGATE_SMTP_PORT", str(sink.port))
        rivera, okafor = run_items(db, "content-feedback")
        first = show(db, rivera["run_id"])["state"]["steps"]["draft"]["text"]
        res = decide(
            db,
            rivera["review_id"],
            "--action",
            "revise",
            "--rating",
            "2",
            "--note",
            "We have refunded the shipping cost.",
            "--by",
            "eda",
        )
        assert res["status"] == "waiting" and res["waiting_on"] == "edit"
        second = res["outputs"]["draft"]["text"]
        assert second != first and second.endswith("We have refunded the shipping cost.")
        assert res["outputs"]["draft"]["revision"] == 1
        res = decide(db, res["review_id"], "--action", "accept", "--rating", "4", "--by", "eda")
        assert res["result"] == "sent"
        assert res["outputs"]["email_customer"]["to"] == ["rivera@example.com"]
        # Okafor gave no email address: the notify node takes its error branch.
        res = decide(db, okafor["review_id"], "--action", "accept", "--rating", "5", "--by", "eda")
        assert res["result"] == "sent"
        assert "no recipient" in res["outputs"]["email_customer"]["error"]
    [mail] = sink.messages
    assert mail["To"] == "rivera@example.com" and mail["Subject"] == "Re: a late delivery"
    assert mail.get_content().strip() == second
    [row] = loopgate(db, "outbox", "list", "--json").lines
    assert row["status"] == "sent" and row["run_id"] == rivera["run_id"]
    assert path_of(db, rivera["run_id"]) == [
        "request",
        "draft",
        "edit",
        "draft",
        "edit",
        "publish",
        "email_customer",
        "sent",
    ]
    assert path_of(db, okafor["run_id"]) == [
        "request",
        "draft",
        "edit",
        "publish",
        "email_customer",
        "not_emailed",
        "sent",
    ]
    finish(db)


def test_audit_logging(db: Path) -> None:
    runs = run_items(db, "access-audit")
    assert all(r["status"] == "succeeded" for r in runs)
    events = loopgate(db, "audit", "list", "--kind", "audit", "--limit", "100", "--json").lines
    categories = sorted(e["data"]["output"]["category"] for e in events)
    assert categories == ["bulk_export", "data_access", "data_access", "data_access"]
    bulk = [e for e in events if e["data"]["output"]["category"] == "bulk_export"]
    assert "25000 rows by ben" in bulk[0]["data"]["output"]["message"]
    finish(db)


def test_collecting_missing_context(db: Path) -> None:
    full, boots, hat = run_items(db, "order-missing-context")
    assert full["result"] == "confirmed"
    missing = loopgate(
        db,
        "decide",
        boots["review_id"],
        "--action",
        "submit",
        "--data",
        '{"address": "9 Main St"}',
        "--by",
        "sal",
        check=False,
    )
    assert missing.code == 1 and "size" in missing.err
    res = decide(
        db,
        boots["review_id"],
        "--action",
        "submit",
        "--data",
        '{"address": "9 Main St, Galway", "size": "L", "gift_wrap": "yes"}',
        "--by",
        "sal",
    )
    assert res["result"] == "confirmed"
    assert res["outputs"]["order"] == {"address": "9 Main St, Galway", "size": "L"}
    assert res["outputs"]["ask"]["gift_wrap"] is True
    swept = loopgate(db, "sweep", "--now", "2099-01-01T00:00:00", "--json").lines
    assert swept[0]["timed_out"] == [hat["review_id"]]
    assert show(db, hat["run_id"])["result"] == "no_answer"
    events = show(db, hat["run_id"])["events"]
    expired = [e for e in events if e["kind"] == "review.expired"]
    assert expired and expired[0]["actor"] == "system"
    finish(db)


def test_guarded_sensitive_action(db: Path) -> None:
    assert loopgate(db, "validate", "--strict", str(EXAMPLES / "account-deletion.yaml")).code == 0
    erase, phone = run_items(db, "account-deletion")
    assert erase["waiting_on"] == "security_review" and phone["waiting_on"] == "security_review"
    res = decide(db, erase["review_id"], "--action", "approve", "--by", "sec")
    assert res["result"] == "deleted"
    assert res["outputs"]["delete_account"]["key"] == "C-900"
    res = decide(
        db, phone["review_id"], "--action", "reject", "--reason", "not_verified", "--by", "sec"
    )
    assert res["result"] == "kept"
    assert "delete_account" not in path_of(db, phone["run_id"])
    finish(db)


def test_a_person_picks_the_branch(db: Path) -> None:
    fair, gpu, survey = run_items(db, "budget-routing")
    assert all(r["waiting_on"] == "route" for r in (fair, gpu, survey))
    wrong = loopgate(
        db,
        "decide",
        fair["review_id"],
        "--action",
        "choose",
        "--option",
        "sales",
        "--by",
        "fin",
        check=False,
    )
    assert wrong.code == 1
    assert wrong.err.strip() == (
        "error: option 'sales' is not one of this checkpoint's: marketing, research, infrastructure"
    )
    res = decide(
        db,
        fair["review_id"],
        "--action",
        "choose",
        "--option",
        "marketing",
        "--data",
        '{"budget_code": "MK-26"}',
        "--by",
        "fin",
    )
    assert res["result"] == "routed"
    assert res["outputs"]["route"]["choice"] == "marketing"
    assert res["outputs"]["route"]["data"] == {"budget_code": "MK-26"}
    assert res["outputs"]["to_marketing"] == {"budget": "marketing", "owner": "mara"}
    res = decide(
        db, gpu["review_id"], "--action", "choose", "--option", "infrastructure", "--by", "fin"
    )
    assert "to_infrastructure" in path_of(db, gpu["run_id"])
    swept = loopgate(db, "sweep", "--now", "2099-01-01T00:00:00", "--json").lines
    assert swept[0]["decided"] == [survey["review_id"]]
    after = show(db, survey["run_id"])
    assert after["result"] == "routed" and "to_research" in path_of(db, survey["run_id"])
    finish(db)


def test_escalation_chain(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chain through the CLI with `sweep --now`: a delegation, a reminder mailed to the
    SMTP sink, a reassignment to finance, an escalation to risk, the final rejection."""
    loopgate(db, "users", "add", "rae", "--role", "reviewer", "--team", "managers")
    out = loopgate(
        db,
        "users",
        "delegate",
        "rae",
        "--to",
        "mia",
        "--from",
        "2020-01-01",
        "--until",
        "2099-01-01",
    ).out
    assert "reviews assigned to rae go to mia" in out
    noor, ivo = run_items(db, "escalation-chain")
    assert noor["status"] == ivo["status"] == "waiting"
    [queued] = [r for r in loopgate(db, "reviews", "--json").lines if r["id"] == noor["review_id"]]
    assert (queued["assignee"], queued["delegated_from"]) == ("mia", "rae")
    start = queued["created_at"][:19]

    def sweep(hours: int) -> dict:
        at = (datetime.fromisoformat(start) + timedelta(hours=hours)).isoformat()
        return loopgate(db, "sweep", "--now", at, "--json").lines[0]

    with mail_sink() as sink:
        monkeypatch.setenv("LOOPGATE_SMTP_PORT", str(sink.port))
        assert sorted(sweep(5)["reminded"]) == sorted([noor["review_id"], ivo["review_id"]])
        assert sorted(m["To"] for m in sink.messages) == ["managers@example.com"] * 2
    decide(db, noor["review_id"], "--action", "approve", "--by", "mia")
    assert sweep(25)["reassigned"] == [ivo["review_id"]]
    assert loopgate(db, "reviews", "--json").lines[0]["team"] == "finance"
    assert sweep(49)["escalated"] == [ivo["review_id"]]
    escalated = loopgate(db, "reviews", "--json").lines[0]
    assert (escalated["team"], escalated["priority"]) == ("risk", "high")
    assert sweep(73)["decided"] == [ivo["review_id"]]
    kinds = [e["kind"] for e in show(db, ivo["run_id"])["events"]]
    assert [k for k in kinds if k.startswith("review.")] == [
        "review.requested",
        "review.delegated",
        "review.reminded",
        "review.reassigned",
        "review.escalated",
        "review.expired",
    ]
    assert show(db, ivo["run_id"])["result"] == "refused"
    finish(db)


def test_every_example_has_an_end_to_end_test() -> None:
    examples = {p.stem for p in EXAMPLES.glob("*.yaml")}
    items = {p.stem for p in (EXAMPLES / "items").glob("*.jsonl")}
    assert examples == items
    covered = {
        "expense-approval",
        "ticket-routing",
        "refund-escalation",
        "content-feedback",
        "access-audit",
        "order-missing-context",
        "account-deletion",
        "refund-requests",  # these two: tests/e2e/test_examples_ai.py
        "invoice-intake",
        "budget-routing",
        "escalation-chain",
        "quorum-approval",  # tests/e2e/test_quorum_example.py
    }
    assert examples <= covered, f"examples without an end-to-end test: {examples - covered}"
