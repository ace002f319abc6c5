"""The inspector form of a checkpoint edits its escalation chain (YAML list) and SLA."""

from __future__ import annotations

from builder.design.forms import coerce_form_values, form_fields, initial_values
from runtime.nodes import get_node_type

APPROVAL = get_node_type("approval").Params


def test_the_chain_and_sla_are_form_fields():
    fields = {f.name: f for f in form_fields(APPROVAL)}
    assert fields["escalation"].kind == "json" and "remind" in fields["escalation"].help
    assert fields["sla"].kind == "text" and fields["sla"].nullable


def test_a_chain_round_trips_through_the_yaml_editor():
    steps = [
        {"after": "4h", "action": "remind", "to": "a@example.com"},
        {"after": "1d", "action": "reject", "note": "late"},
    ]
    text = initial_values(APPROVAL, {"team": "t", "escalation": steps})["escalation"]
    assert text.startswith("- after: 4h\n  action: remind")
    values, errors = coerce_form_values(APPROVAL, {"team": "t", "escalation": text, "sla": "8h"})
    assert errors == {} and values["escalation"] == steps and values["sla"] == "8h"


def test_a_bad_step_is_named_in_the_form():
    text = "- after: soon\n  action: remind"
    _, errors = coerce_form_values(APPROVAL, {"team": "t", "escalation": text})
    assert "'soon' is not a duration; write e.g. 30m, 4h, 2d or 1w" in errors["escalation"]
    _, errors = coerce_form_values(APPROVAL, {"team": "t", "sla": "a while"})
    assert "'a while' is not a duration" in errors["sla"]
