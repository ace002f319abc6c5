"""The approval's ``approvers`` policy in the Builder's inspector form: a YAML field from
the node's pydantic params, parsed back, and a policy that cannot work named clearly."""

from __future__ import annotations

from builder.design import forms
from runtime.nodes.approval import ApprovalParams


def test_the_policy_is_a_field_of_the_approval_form() -> None:
    spec = next(f for f in forms.form_fields(ApprovalParams) if f.name == "approvers")
    assert spec.kind == "json" and not spec.required
    assert "mode: quorum, count: 2, team: finance" in spec.help
    assert forms.initial_values(ApprovalParams, {})["approvers"] == "{}"
    shown = forms.initial_values(
        ApprovalParams, {"approvers": {"mode": "quorum", "count": 2, "team": "finance"}}
    )["approvers"]
    assert shown == "mode: quorum\ncount: 2\nteam: finance"


def test_yaml_text_becomes_the_policy_and_a_bad_one_is_refused() -> None:
    params, errors = forms.coerce_form_values(
        ApprovalParams,
        {"approvers": "mode: sequence\nsteps: [{team: managers}, {team: finance, count: 2}]"},
    )
    assert errors == {}
    assert params["approvers"] == {
        "mode": "sequence",
        "steps": [{"team": "managers"}, {"team": "finance", "count": 2}],
    }
    _, errors = forms.coerce_form_values(ApprovalParams, {"approvers": "{mode: quorum, team: t}"})
    assert "approvers: mode quorum needs count" in errors["approvers"]
    assert "Traceback" not in errors["approvers"]
    # the default (the first answer decides) is left out of the saved params
    params, errors = forms.coerce_form_values(ApprovalParams, {"approvers": "{}"})
    assert errors == {} and "approvers" not in params
