"""`human_input`: a person fills a form to supply context the workflow is missing."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from runtime.errors import DecisionError
from runtime.nodes import register
from runtime.nodes._review import (
    ReviewCheckpoint,
    ReviewParams,
    make_request,
    refuse,
    review_check,
    timeout_branch,
)
from runtime.nodes.base import (
    Continue,
    Decision,
    FormField,
    PendingReview,
    RunContext,
    Wait,
)


class HumanInputParams(ReviewParams):
    """Parameters of a human input: the form to fill, plus the review's shared ones."""

    form: list[FormField] = Field(
        min_length=1, description="The fields a person fills in: name, type, required, options."
    )

    @field_validator("form")
    @classmethod
    def _unique_names(cls, form: list[FormField]) -> list[FormField]:
        return check_form(form)


def check_form(form: list[FormField]) -> list[FormField]:
    """A form's fields, checked: unique names, and options for every select.

    Raises:
        ValueError: naming the repeated name or the select without options.
    """
    names = [f.name for f in form]
    if len(set(names)) != len(names):
        raise ValueError("form field names must be unique")
    for f in form:
        if f.type == "select" and not f.options:
            raise ValueError(f"select field {f.name!r} needs options")
    return form


def form_values(form: list[FormField], data: dict[str, Any]) -> dict[str, Any]:
    """A submitted form's values, checked against its fields and typed.

    Raises:
        DecisionError: an unknown field, a required one missing, or a value of the wrong
            type, naming the field.
    """
    known = {f.name: f for f in form}
    unknown = sorted(set(data) - set(known))
    if unknown:
        have = ", ".join(known) or "no fields"
        raise DecisionError(f"unknown form field(s) {', '.join(unknown)}; the form has {have}")
    missing = [f.name for f in form if f.required and data.get(f.name) in (None, "")]
    if missing:
        raise DecisionError(f"required form field(s) missing: {', '.join(missing)}")
    return {
        name: coerce_field(known[name], value) for name, value in data.items() if value is not None
    }


def coerce_field(spec: FormField, value: Any) -> Any:
    """A submitted value converted to the field's type.

    Raises:
        DecisionError: naming the field and the expected type.
    """
    if isinstance(value, bool) and spec.type in ("number", "integer"):
        raise DecisionError(f"field {spec.name}: {value!r} is not a valid {spec.type}")
    try:
        if spec.type in ("number",):
            return float(value)
        if spec.type == "integer":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if spec.type == "boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "yes", "1"):
                return True
            if str(value).lower() in ("false", "no", "0"):
                return False
            raise ValueError
        if spec.type == "select":
            if value not in (spec.options or []):
                opts = ", ".join(map(str, spec.options or []))
                raise DecisionError(f"field {spec.name}: {value!r} is not one of {opts}")
            return value
        return str(value)
    except (TypeError, ValueError):
        raise DecisionError(f"field {spec.name}: {value!r} is not a valid {spec.type}") from None


@register
class HumanInput(ReviewCheckpoint):
    """A person fills a form; the submitted fields become the node's output."""

    type_name = "human_input"
    family = "checkpoint"
    title = "Human input"
    description = "Asks a person to fill a form with the context the workflow is missing."
    icon = "✋"
    Params = HumanInputParams
    example_params = {"form": [{"name": "details", "type": "text", "required": True}]}
    guards = True
    decision_actions = ("submit", "escalate")

    def branches(self, params: HumanInputParams) -> list[str]:
        """``submitted``, and ``timeout`` when a deadline takes it."""
        return ["submitted", *timeout_branch(params)]

    def check(self, params: HumanInputParams, node_ids: set[str]) -> list[str]:
        """The shared review checks; a form cannot be decided by default."""
        problems = review_check(params)
        if params.on_timeout in ("approve", "reject"):
            problems.append("a human_input cannot be decided by default; use timeout or escalate")
        return problems

    def run(self, ctx: RunContext, params: HumanInputParams) -> Wait:
        """Wait for a person to fill the form."""
        return Wait(
            make_request(ctx, params, kind=self.type_name, actions=["submit"], form=params.form)
        )

    def resume(
        self,
        ctx: RunContext,
        params: HumanInputParams,
        review: PendingReview,
        decision: Decision,
        by: str,
    ) -> Continue:
        """submit takes ``submitted`` with the form's values, checked and typed."""
        if decision.action != "submit":
            raise refuse(decision.action, self.type_name, review.actions)
        values = form_values(params.form, decision.data)
        return Continue("submitted", {**values, "_by": by, "_note": decision.note})
