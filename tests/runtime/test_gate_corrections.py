"""Corrections by default at a confidence gate (issue 16, item 5), and the editable schema.

A person reviewing unsure AI output corrects it without the designer listing ``editable``:
at a gate over ``ai_classify`` the label (a select of the model's labels), over
``ai_extract`` the fields it was unsure of. An explicit ``editable`` list narrows it. The
correction lands in ``feedback`` as training data; an edit that does not fit the schema
is refused with a clear message and changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from runtime.engine import Engine
from runtime.errors import DecisionError
from runtime.queries.reviews import editable_schema, get_review
from runtime.spec import parse_spec
from tests.e2e.clihelp import EXAMPLES

LABELS = ["account", "billing_dispute", "refund", "shipping", "technical"]
INVOICE = "Invoice INV-2026-0042 from billing@acme.example, total 1,250.00 EUR, dated 03/04/2026"


def _spec(example: str, gate: str, **params: Any) -> Any:
    spec = yaml.safe_load((EXAMPLES / f"{example}.yaml").read_text())
    node = next(n for n in spec["nodes"] if n["id"] == gate)
    node["params"].pop("editable", None)
    node["params"].update(params)
    return parse_spec(spec)


@pytest.fixture
def tickets(engine: Engine) -> Engine:
    # Threshold 1.0: an unsure label stops at the gate (of team triage: no
    # reviewer in the fixture has it, so the admin decides).
    engine.save_workflow(_spec("ticket-routing", "unsure", threshold=1.0, sample_rate=0.0))
    return engine


def _ticket(engine: Engine, subject: str = "my order question") -> dict:
    res = engine.start(engine.workflow("ticket-routing"), {"ticket_id": "T-1", "subject": subject})
    assert res.status == "waiting" and res.waiting_on == "unsure", res
    return get_review(engine.store, None, res.review_id)


def test_a_gate_over_a_classifier_offers_its_label_as_a_select(tickets: Engine):
    review = _ticket(tickets)
    assert "edit" in review["actions"]
    [field] = review["editable_schema"]
    label = review["context"]["steps"]["classify"]["label"]
    assert field == {
        "name": "classify.label",
        "type": "select",
        "current": label,
        "options": LABELS,
    }


def test_correcting_the_label_routes_on_it_and_is_training_data(tickets: Engine):
    review = _ticket(tickets)
    before = review["context"]["steps"]["classify"]["label"]
    new = "technical" if before != "technical" else "shipping"
    res = tickets.decide(
        review["id"], {"action": "edit", "data": {"classify.label": new}}, by="admin"
    )
    assert res.status == "succeeded" and res.outputs["classify"]["label"] == new
    [fb] = [f for f in tickets.store.list_feedback() if f["review_id"] == review["id"]]
    assert (fb["path"], fb["node_id"], fb["ai_output"], fb["human_output"]) == (
        "classify.label",
        "classify",
        before,
        new,
    )
    assert (fb["action"], fb["reviewer"], fb["model"]) == ("edit", "admin", "support-intents")
    # The model learns from it (the retraining reads corrections of <node>.label).
    [learnt] = [
        f
        for f in tickets.store.feedback_for_model("support-intents")
        if f["review_id"] == review["id"]
    ]
    assert learnt["human_output"] == new


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"classify.label": ""}, "is a label: give one as text"),
        ({"classify.label": 3}, "is a label: give one as text"),
        ({"classify.confidence": 0.99}, "may not be edited here; editable: classify.label"),
        ({}, "edit needs --data"),
    ],
)
def test_a_label_edit_that_fails_the_schema_is_refused(tickets: Engine, data: dict, message: str):
    review = _ticket(tickets)
    with pytest.raises(DecisionError, match=message):
        tickets.decide(review["id"], {"action": "edit", "data": data}, by="admin")
    assert tickets.store.get_review(review["id"])["status"] == "pending"
    assert tickets.store.list_feedback() == []


def test_an_explicit_editable_list_narrows_it(engine: Engine):
    engine.save_workflow(
        _spec("ticket-routing", "unsure", threshold=1.0, sample_rate=0.0, editable=["ticket_id"])
    )
    review = _ticket(engine)
    assert [f["name"] for f in review["editable_schema"]] == ["ticket_id"]
    with pytest.raises(DecisionError, match="may not be edited here; editable: ticket_id"):
        engine.decide(
            review["id"], {"action": "edit", "data": {"classify.label": "refund"}}, by="admin"
        )
    # ... and an explicit label path is still a select of the model's labels.
    engine.save_workflow(
        _spec(
            "ticket-routing", "unsure", threshold=1.0, sample_rate=0.0, editable=["classify.label"]
        )
    )
    review = _ticket(engine)
    assert review["editable_schema"][0]["options"] == LABELS


@pytest.fixture
def invoices(engine: Engine) -> Engine:
    engine.save_workflow(_spec("invoice-intake", "check", threshold=0.8))
    return engine


def _invoice(engine: Engine, body: str = INVOICE) -> dict:
    res = engine.start(engine.workflow("invoice-intake"), {"message_id": "M-1", "body": body})
    assert res.status == "waiting" and res.waiting_on == "check", res
    return get_review(engine.store, None, res.review_id)


def test_a_gate_over_an_extractor_offers_the_unsure_fields(invoices: Engine):
    review = _invoice(invoices)
    # The date is ambiguous (03/04: day or month first?), so unsure; the rest is sure.
    assert review["editable_schema"] == [
        {"name": "extract.fields.date.value", "type": "string", "current": "2026-04-03"}
    ]
    res = invoices.decide(
        review["id"],
        {"action": "edit", "data": {"extract.fields.date.value": "2026-03-04"}},
        by="admin",
    )
    assert res.status == "succeeded"
    assert invoices.store.get_record("invoices", "INV-2026-0042")["value"]["date"] == "2026-03-04"
    [fb] = [f for f in invoices.store.list_feedback() if f["review_id"] == review["id"]]
    assert (fb["path"], fb["node_id"], fb["ai_output"], fb["human_output"]) == (
        "extract.fields.date.value",
        "extract",
        "2026-04-03",
        "2026-03-04",
    )


def test_missing_and_structured_fields_are_offered_by_their_parts(invoices: Engine):
    review = _invoice(invoices, "Please pay 99 EUR. Invoice INV-7 attached")
    names = {f["name"]: f for f in review["editable_schema"]}
    assert set(names) == {"extract.fields.email.value", "extract.fields.date.value"}
    assert names["extract.fields.email.value"]["current"] is None
    invoices.save_workflow(_spec("invoice-intake", "check", threshold=0.99))
    review = _invoice(invoices, "Please pay 99 EUR. Invoice INV-7 attached")
    names = {f["name"]: f for f in review["editable_schema"]}
    amount = names["extract.fields.amount.value.amount"]
    assert (amount["type"], amount["current"]) == ("number", 99.0)
    assert names["extract.fields.amount.value.currency"]["current"] == "EUR"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "NaN", "-Infinity", "lots"])
def test_a_number_edit_must_be_a_finite_number(invoices: Engine, bad: Any):
    invoices.save_workflow(_spec("invoice-intake", "check", threshold=0.99))
    review = _invoice(invoices)
    data = {"extract.fields.amount.value.amount": bad}
    with pytest.raises(DecisionError, match="amount"):
        invoices.decide(review["id"], {"action": "edit", "data": data}, by="admin")
    assert invoices.store.get_review(review["id"])["status"] == "pending"
    ok = {"extract.fields.amount.value.amount": "1300"}
    res = invoices.decide(review["id"], {"action": "edit", "data": ok}, by="admin")
    assert res.outputs["extract"]["fields"]["amount"]["value"]["amount"] == 1300


def test_sure_output_offers_nothing_to_correct(invoices: Engine):
    # A gate over something neither a label nor fields: approve or reject only.
    review = {"actions": ["approve", "reject", "escalate"], "form": []}
    assert editable_schema(review) == []
    human = {
        "actions": ["submit", "escalate"],
        "form": [
            {
                "name": "currency",
                "type": "select",
                "options": ["EUR", "USD"],
                "required": True,
                "label": "Currency",
                "value": None,
            }
        ],
    }
    assert editable_schema(human) == [
        {
            "name": "currency",
            "type": "select",
            "current": None,
            "options": ["EUR", "USD"],
            "label": "Currency",
            "required": True,
        }
    ]
