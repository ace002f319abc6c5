"""Rule-based field extraction on real-looking support messages."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from runtime.models import SUPPORTED_FIELDS, FieldValue, ModelError, extract_fields

DATA = Path(__file__).resolve().parents[3] / "examples" / "data" / "support_messages.csv"
ALL = list(SUPPORTED_FIELDS)


def values(text: str, fields: list[str] | None = None) -> dict[str, object]:
    return {k: v.value for k, v in extract_fields(text, fields or ALL).items()}


# ------------------------------------------------------------ full messages


def test_a_billing_message_with_everything() -> None:
    text = (
        "Hi, I was charged $120.50 twice for ORD-12345 on Nov 3, 2026. "
        "Call me at +44 20 7946 0958 or write to maria.lopez@example.com.\n\n"
        "Thanks,\nMaria Lopez"
    )
    found = extract_fields(text, ALL)
    assert found["amount"].value == {"amount": 120.5, "currency": "USD"}
    assert found["order_id"].value == "ORD-12345"
    assert found["date"].value == "2026-11-03"
    assert found["phone"].value == "+44 20 7946 0958"
    assert found["email"].value == "maria.lopez@example.com"
    assert found["name"].value == "Maria Lopez"
    assert found["iban"] == FieldValue(value=None, confidence=0.0)
    assert found["invoice_number"].value is None
    for field in ("amount", "order_id", "date", "phone", "email"):
        assert found[field].confidence >= 0.9, field


def test_a_european_refund_request() -> None:
    text = (
        "Bitte / please refund 1.234,56 EUR to DE89 3704 0044 0532 0130 00, "
        "invoice no. 4471 dated 13.11.2026."
    )
    found = extract_fields(text, ["amount", "iban", "invoice_number", "date", "phone"])
    assert found["amount"].value == {"amount": 1234.56, "currency": "EUR"}
    assert found["iban"].value == "DE89370400440532013000"
    assert found["iban"].confidence >= 0.95
    assert found["invoice_number"].value == "4471"
    assert found["date"].value == "2026-11-13"
    # The IBAN's and the date's digits are not a phone number.
    assert found["phone"].value is None


def test_a_shipping_message_with_order_hash_and_us_phone() -> None:
    text = "My order #98765 never arrived!! email: john.doe@example.com, phone (555) 123-4567"
    assert values(text, ["order_id", "email", "phone", "amount"]) == {
        "order_id": "98765",
        "email": "john.doe@example.com",
        "phone": "(555) 123-4567",
        "amount": None,
    }


def test_only_requested_fields_are_returned() -> None:
    found = extract_fields("Refund €45 for ORD-55555", ["amount"])
    assert list(found) == ["amount"]
    assert found["amount"].value == {"amount": 45.0, "currency": "EUR"}
    assert extract_fields("anything", []) == {}


def test_absent_fields_are_none_with_zero_confidence() -> None:
    found = extract_fields("The app crashes when I open settings.", ALL)
    for field, value in found.items():
        assert value.value is None, field
        assert value.confidence == 0.0, field


# ------------------------------------------------------------------ amounts


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("You charged me $120.50 yesterday", 120.5, "USD"),
        ("a fee of 120 EUR was added", 120.0, "EUR"),
        ("I paid €45 for this", 45.0, "EUR"),
        ("refund 1,299.99 USD please", 1299.99, "USD"),
        ("it cost 12,99 € in the shop", 12.99, "EUR"),
        ("they took £30 from my account", 30.0, "GBP"),
        ("charged USD 1,200 on my card", 1200.0, "USD"),
        ("it was 45 euros", 45.0, "EUR"),
        ("I spent 80 dollars on it", 80.0, "USD"),
        ("total 2.500,00 EUR", 2500.0, "EUR"),
        ("US$99 for the plan", 99.0, "USD"),
    ],
)
def test_amount_formats(text: str, amount: float, currency: str) -> None:
    found = extract_fields(text, ["amount"])["amount"]
    assert found.value == {"amount": amount, "currency": currency}
    assert found.confidence >= 0.9


def test_a_bare_number_next_to_charged_is_a_weak_amount() -> None:
    found = extract_fields("You charged 45 and it broke the next day", ["amount"])["amount"]
    assert found.value == {"amount": 45.0, "currency": None}
    assert 0 < found.confidence < 0.5


def test_bare_numbers_that_are_not_money_are_ignored() -> None:
    for text in [
        "You charged my card ending 5717 without asking",
        "I was billed 3 times for one order",
        "the price went up 20% overnight",
        "I have 5 seats on the plan",
    ]:
        assert extract_fields(text, ["amount"])["amount"].value is None, text


def test_a_currency_amount_beats_a_bare_number() -> None:
    found = extract_fields("You charged my card ending 5717 €348 without permission", ["amount"])
    assert found["amount"].value == {"amount": 348.0, "currency": "EUR"}
    assert found["amount"].confidence >= 0.9


def test_conflicting_amounts_lower_the_confidence() -> None:
    single = extract_fields("The price was £30.", ["amount"])["amount"]
    double = extract_fields("The price was £30 but you took £45.", ["amount"])["amount"]
    assert double.value == {"amount": 30.0, "currency": "GBP"}  # the first one
    assert double.confidence < single.confidence
    assert double.confidence < 0.7
    # The same amount written twice is not a conflict.
    same = extract_fields("Charged USD 1,200 and then 1,200.00 dollars again", ["amount"])
    assert same["amount"].confidence >= 0.9


# ---------------------------------------------------------------- order ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Where is ORD-12345?", "ORD-12345"),
        ("where is ord-30472", "ORD-30472"),
        ("order ORD 44556 is late", "ORD-44556"),
        ("my order #12345 is late", "12345"),
        ("Order number: 778899", "778899"),
        ("order no. 4455-B", "4455-B"),
        ("order id: A1B2C3 please", "A1B2C3"),
    ],
)
def test_order_ids(text: str, expected: str) -> None:
    assert values(text, ["order_id"])["order_id"] == expected


def test_order_id_written_two_ways_is_one_value() -> None:
    found = extract_fields("ORD-12345 (order #12345) has not arrived", ["order_id"])["order_id"]
    assert found.value == "ORD-12345"
    assert found.confidence >= 0.9


def test_order_words_without_digits_are_not_ids() -> None:
    assert values("order now please, order id please", ["order_id"])["order_id"] is None


# ------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("on 2026-11-03 I ordered", "2026-11-03"),
        ("paid on Nov 3, 2026", "2026-11-03"),
        ("since November 3rd 2026", "2026-11-03"),
        ("on 3 Nov 2026", "2026-11-03"),
        ("on the 3rd of November, 2026", "2026-11-03"),
        ("since 13/11/2026", "2026-11-13"),
        ("since 11/13/2026", "2026-11-13"),
        ("on 2026/11/03", "2026-11-03"),
    ],
)
def test_date_formats_become_iso(text: str, iso: str) -> None:
    found = extract_fields(text, ["date"])["date"]
    assert found.value == iso
    assert found.confidence >= 0.9


def test_ambiguous_numeric_dates_follow_dayfirst_with_lower_confidence() -> None:
    text = "I returned it on 03/11/2026"
    day_first = extract_fields(text, ["date"])["date"]
    month_first = extract_fields(text, ["date"], dayfirst=False)["date"]
    assert day_first.value == "2026-11-03"
    assert month_first.value == "2026-03-11"
    assert day_first.confidence < 0.9


def test_impossible_dates_are_ignored() -> None:
    assert values("on 2026-02-30 and 31/04/2026", ["date"])["date"] is None


def test_several_dates_lower_the_confidence() -> None:
    found = extract_fields("Ordered 2026-01-05, promised by 2026-01-09.", ["date"])["date"]
    assert found.value == "2026-01-05"
    assert found.confidence < 0.7


# ------------------------------------------------------ phones, invoices, IBAN


@pytest.mark.parametrize(
    "phone",
    ["+44 20 7946 0958", "(555) 123-4567", "555-123-4567", "+1-202-555-0147", "0049 30 901820"],
)
def test_phone_formats(phone: str) -> None:
    found = extract_fields(f"You can reach me on {phone} after 5pm.", ["phone"])["phone"]
    assert found.value == phone
    assert found.confidence >= 0.8


def test_a_bare_digit_run_is_a_weak_phone() -> None:
    weak = extract_fields("reference 5551234567", ["phone"])["phone"]
    assert weak.value == "5551234567"
    assert weak.confidence < 0.5


def test_order_ids_dates_and_card_digits_are_not_phones() -> None:
    text = "ORD-1234567 was charged on 2026-11-03, card ending 4242"
    assert values(text, ["phone"])["phone"] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see INV-2026-0042 attached", "INV-2026-0042"),
        ("invoice no. 123 is wrong", "123"),
        ("Invoice #A-5531 is wrong", "A-5531"),
        ("inv20260042 paid twice", "INV20260042"),
        ("the invoice 55512 again", "55512"),
    ],
)
def test_invoice_numbers(text: str, expected: str) -> None:
    assert values(text, ["invoice_number"])["invoice_number"] == expected


def test_invoice_words_are_not_invoice_numbers() -> None:
    assert values("The invoice is wrong, I am invoiced twice", ["invoice_number"]) == {
        "invoice_number": None
    }


def test_iban_checksum_decides_confidence() -> None:
    good = extract_fields("Pay to GB82 WEST 1234 5698 7654 32 please", ["iban"])["iban"]
    assert good.value == "GB82WEST12345698765432"
    assert good.confidence >= 0.95
    typo = extract_fields("Pay to GB83 WEST 1234 5698 7654 32 please", ["iban", "phone"])
    assert typo["iban"].value == "GB83WEST12345698765432"
    assert typo["iban"].confidence < 0.5
    assert typo["phone"].value is None  # its digits stay claimed by the IBAN


def test_names() -> None:
    assert values("My name is Sanjay Patel and I need help", ["name"]) == {"name": "Sanjay Patel"}
    assert values("Kind regards, Grace Varga", ["name"]) == {"name": "Grace Varga"}
    assert values("Where is it?? - Wei Ivanova", ["name"]) == {"name": "Wei Ivanova"}
    assert values("I am Very disappointed. Regards", ["name"]) == {"name": None}


# ------------------------------------------------------------------- errors


def test_unknown_field_lists_supported_fields() -> None:
    with pytest.raises(ModelError, match=r"unknown field 'total'.*supported fields are .*amount"):
        extract_fields("hello", ["amount", "total"])
    with pytest.raises(ModelError, match="unknown fields 'a', 'b'"):
        extract_fields("hello", ["a", "b"])


def test_bad_arguments() -> None:
    with pytest.raises(ModelError, match="list of field names"):
        extract_fields("hello", "amount")  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="not NoneType"):
        extract_fields(None, ["amount"])  # type: ignore[arg-type]


# ------------------------------------------------------- the shipped data set


def test_runs_over_the_shipped_messages() -> None:
    with DATA.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with_order = 0
    for row in rows:
        text = row["text"]
        found = extract_fields(text, ALL)
        assert all(0.0 <= v.confidence <= 1.0 for v in found.values())
        match = re.search(r"\bORD-(\d{5})\b", text, re.IGNORECASE)
        if match:
            with_order += 1
            assert found["order_id"].value == f"ORD-{match.group(1)}", text
        email = re.search(r"[\w.]+@[\w.-]+\.[a-z]{2,}", text)
        if email:
            assert found["email"].value is not None, text
        if "+44 20" in text:
            assert found["phone"].value.startswith("+44 20"), text
    assert with_order > 20
