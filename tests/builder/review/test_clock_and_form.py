"""builder.review.clock and builder.review.form: ages, deadlines, and typed form values."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from builder.review import clock, form

NOW = datetime(2026, 3, 2, 12, 0)


def test_spans_ages_and_deadlines() -> None:
    assert clock.span(timedelta(seconds=20)) == "<1m"
    assert clock.span(timedelta(minutes=40)) == "40m"
    assert clock.span(timedelta(hours=3, minutes=5)) == "3h 5m"
    assert clock.span(timedelta(days=2)) == "2d"
    assert clock.span(timedelta(days=2, hours=4, minutes=9)) == "2d 4h"
    assert clock.age(NOW - timedelta(hours=2), NOW) == "2h"
    assert clock.time_left(None, NOW) == ("no deadline", False)
    assert clock.time_left(NOW + timedelta(hours=1, minutes=30), NOW) == ("1h 30m left", False)
    assert clock.time_left(NOW - timedelta(minutes=40), NOW) == ("overdue by 40m", True)
    assert clock.time_left(NOW, NOW) == ("overdue by <1m", True)


def _field(**kw: object) -> dict:
    return {"name": "amount", "type": "number", "required": False, "value": 70, **kw}


def test_a_number_stays_a_number() -> None:
    assert form.parse(_field(), "120") == 120 and isinstance(form.parse(_field(), "120"), int)
    assert form.parse(_field(), "120.5") == 120.5
    assert form.parse(_field(value=70.5), "120") == 120.0
    assert isinstance(form.parse(_field(value=70.5), "120"), float)
    assert form.parse(_field(), " 1,200 ") == 1200
    assert form.parse(_field(type="integer"), "12") == 12
    assert form.parse(_field(), "") is None


@pytest.mark.parametrize("bad", ["NaN", "nan", "Infinity", "-inf", "1e999", "12 EUR", "twelve"])
def test_nan_infinity_and_text_are_refused_for_a_number(bad: str) -> None:
    with pytest.raises(ValueError, match=r"^amount: .* (not a finite number|not a number)"):
        form.parse(_field(), bad)


def test_required_whole_numbers_choices_and_long_text() -> None:
    with pytest.raises(ValueError, match="amount is required: fill it in"):
        form.parse(_field(required=True), "  ")
    with pytest.raises(ValueError, match="not a whole number"):
        form.parse(_field(type="integer"), "1.5")
    with pytest.raises(ValueError, match="'XXL' is not one of S, M"):
        form.parse({"name": "size", "type": "select"}, "XXL", ["S", "M"])
    with pytest.raises(ValueError, match="at most 10,000 characters"):
        form.parse({"name": "note", "type": "text"}, "x" * 10_001)
    assert form.parse({"name": "wrap", "type": "boolean"}, False) is False


def test_an_ai_label_is_a_select_of_the_models_labels() -> None:
    context = {
        "steps": {"classify": {"label": "refund", "scores": {"refund": 0.6, "billing": 0.4}}}
    }
    field = {"name": "classify.label", "type": "string", "value": "refund"}
    assert form.options(field, context) == ["refund", "billing"]
    assert form.options({"name": "classify.text", "type": "string"}, context) is None
    assert form.options({"name": "amount", "type": "number"}, context) is None
    assert form.options({"name": "size", "type": "select", "options": ["S"]}, {}) == ["S"]


def test_collect_and_changed() -> None:
    review = {
        "form": [_field(), {"name": "who", "type": "string", "value": "ada"}],
        "context": {},
    }
    values, problems = form.collect(review, {"amount": "NaN", "who": "ada"})
    assert problems == ["amount: 'NaN' is not a finite number; type one such as 120.5"]
    values, problems = form.collect(review, {"amount": "80", "who": "ada"})
    assert problems == [] and values == {"amount": 80, "who": "ada"}
    assert form.changed(review, values) == {"amount": 80}


def test_counts_in_one_line() -> None:
    from builder.review.queue import counts_text

    assert counts_text({}) == "none"
    assert counts_text({"a": 1, "b": 3, "": 2}) == "b 3 · (none) 2 · a 1"
    many = {f"t{i}": i for i in range(1, 7)}
    assert counts_text(many) == "t6 6 · t5 5 · t4 4 · +3 more"
