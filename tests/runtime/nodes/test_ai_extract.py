"""`ai_extract`: pull fields (amounts, e-mails, invoice numbers, dates, ...) out of a text."""

from __future__ import annotations

from runtime.nodes import Continue, Fail
from tests.runtime.nodes.helpers import (
    assert_never_waits,
    make_ctx,
    node,
    problems_of,
    run_node,
)

INVOICE = (
    "Invoice INV-2026-0042 from Acme Ltd, total due EUR 1,250.00 by 2026-03-31. "
    "Questions: billing@acme.example"
)


def test_extract_gives_every_field_with_its_confidence() -> None:
    out = run_node(
        "ai_extract",
        make_ctx({"body": INVOICE}, node_id="intent"),
        text="{{ item.body }}",
        fields=["amount", "invoice_number", "email", "date", "phone"],
    )
    assert isinstance(out, Continue) and out.branch == "next"
    f = out.output["fields"]
    assert f["amount"]["value"] == {"amount": 1250.0, "currency": "EUR"}
    assert f["invoice_number"]["value"] == "INV-2026-0042"
    assert f["email"]["value"] == "billing@acme.example"
    assert f["date"]["value"] == "2026-03-31"
    assert f["phone"] == {"value": None, "confidence": 0.0}
    assert out.output["confidence"] == 0.0  # the least sure field decides
    assert out.output["missing"] == ["phone"]
    assert (out.output["model"], out.output["model_version"]) == ("rules", 1)
    sure = run_node(
        "ai_extract",
        make_ctx({"body": INVOICE}, node_id="intent"),
        text="{{ item.body }}",
        fields=["amount", "email"],
    )
    assert (
        sure.output["confidence"]
        == min(
            sure.output["fields"]["amount"]["confidence"],
            sure.output["fields"]["email"]["confidence"],
        )
        > 0.9
    )


def test_extract_unknown_field_is_a_compile_time_problem_naming_the_supported_ones() -> None:
    problems = problems_of("ai_extract", text="{{ item.message }}", fields=["amount", "vat_id"])
    assert len(problems) == 1
    assert "node ai" in problems[0] and "vat_id" in problems[0]
    assert "supported fields are email, iban, order_id, invoice_number" in problems[0]
    assert problems_of("ai_extract", text="{{ item.message }}", fields=["amount"]) == []
    assert any("twice" in p for p in problems_of("ai_extract", text="x", fields=["email", "email"]))


def test_extract_template_error_fails() -> None:
    out = run_node(
        "ai_extract", make_ctx({}, node_id="extract"), text="{{ item.body }}", fields=["email"]
    )
    assert isinstance(out, Fail) and "node extract" in out.error


def test_extract_has_next_and_error_branches_and_the_ai_family() -> None:
    ntype, p = node("ai_extract", text="x", fields=["email"])
    assert ntype.family == "ai"
    assert ntype.branches(p) == ["next", "error"]


def test_extract_contract() -> None:
    ntype, p = node("ai_extract", text="{{ item.text }}", fields=["amount"])
    assert ntype.icon == "🤖"
    assert ntype.example_params == {"text": "{{ item.text }}", "fields": ["amount"]}
    assert_never_waits(ntype, p)
