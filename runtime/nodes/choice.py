"""`choice`: a person picks which way the workflow goes; each option is a branch."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

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
from runtime.nodes.human_input import check_form, form_values

#: An option is a branch name: it must be something an edge's ``branch`` can say.
OPTION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,63}$")
RESERVED = ("timeout", "error", "next")


class ChoiceParams(ReviewParams):
    """Parameters of a choice: the options (each a branch), and the review's shared ones."""

    options: list[str] = Field(
        min_length=1,
        max_length=50,
        description="The options a person picks from; each becomes a branch of the same name.",
    )
    multiple: bool = Field(
        False,
        description=(
            "Let the person pick several options. The run follows the first picked one in "
            "the listed order; the output records all of them."
        ),
    )
    default_option: str | None = Field(
        None, description="The option taken at the deadline when on_timeout is default."
    )
    on_timeout: Literal["timeout", "default", "escalate"] = Field(
        "timeout",
        description="At the deadline: take the timeout branch, take default_option, or escalate.",
    )
    form: list[FormField] = Field(
        default_factory=list, description="Extra fields submitted with the choice (optional)."
    )

    @field_validator("options")
    @classmethod
    def _options(cls, options: list[str]) -> list[str]:
        options = [str(o).strip() for o in options]
        for option in options:
            if not OPTION.match(option):
                raise ValueError(
                    f"option {option!r} cannot be a branch name: use letters, digits, spaces, "
                    "_ . or -, at most 64 characters"
                )
            if option in RESERVED:
                raise ValueError(f"option {option!r} is reserved for the node's own branch")
        dupes = sorted({o for o in options if options.count(o) > 1})
        if dupes:
            raise ValueError(f"options must be unique; repeated: {', '.join(dupes)}")
        return options

    @field_validator("form")
    @classmethod
    def _form(cls, form: list[FormField]) -> list[FormField]:
        return check_form(form)

    @model_validator(mode="after")
    def _default(self) -> ChoiceParams:
        if self.default_option is not None and self.default_option not in self.options:
            raise ValueError(
                f"default_option {self.default_option!r} is not one of the options: "
                + ", ".join(self.options)
            )
        return self


def picked(decision: Decision, params: ChoiceParams) -> list[str]:
    """The options a ``choose`` decision picks, in the listed order.

    Raises:
        DecisionError: no option, an unknown one (naming the valid ones), or several when
            the node takes one.
    """
    raw = decision.option
    names = [raw] if isinstance(raw, str) else list(raw or [])
    names = [str(n).strip() for n in names if str(n).strip()]
    valid = ", ".join(params.options)
    if not names:
        raise DecisionError(f"choose needs an option (--option), one of: {valid}")
    unknown = [n for n in names if n not in params.options]
    if unknown:
        raise DecisionError(f"option {unknown[0]!r} is not one of this checkpoint's: {valid}")
    if len(set(names)) > 1 and not params.multiple:
        raise DecisionError(
            f"this checkpoint takes one option, {len(set(names))} were given; pick one of: {valid}"
        )
    return [o for o in params.options if o in names]


@register
class Choice(ReviewCheckpoint):
    """A person picks an option; the run takes the branch of that name."""

    type_name = "choice"
    family = "checkpoint"
    title = "Choice"
    description = "A person picks which way the workflow goes: each option is a branch."
    icon = "🔀"
    Params = ChoiceParams
    example_params = {"options": ["option_a", "option_b"]}
    guards = True
    decision_actions = ("choose", "escalate")

    def branches(self, params: ChoiceParams) -> list[str]:
        """One branch per option, and ``timeout`` when a deadline takes it."""
        return [*params.options, *timeout_branch(params)]

    def check(self, params: ChoiceParams, node_ids: set[str]) -> list[str]:
        """The shared review checks; ``on_timeout: default`` needs a default option."""
        problems = review_check(params)
        if params.on_timeout == "default" and params.default_option is None:
            problems.append("on_timeout is default, so default_option must name an option")
        return problems

    def default_decision(self, params: ChoiceParams) -> Decision | None:
        """``choose default_option``, taken at the deadline with ``on_timeout: default``."""
        if params.default_option is None:
            return None
        return Decision(
            action="choose",
            option=params.default_option,
            note="decided by default at the deadline",
        )

    def run(self, ctx: RunContext, params: ChoiceParams) -> Wait:
        """Wait for a person to pick an option (and fill the extra form, if any)."""
        return Wait(
            make_request(
                ctx,
                params,
                kind=self.type_name,
                actions=["choose"],
                options=params.options,
                form=params.form,
                note="pick several options" if params.multiple else None,
            )
        )

    def resume(
        self,
        ctx: RunContext,
        params: ChoiceParams,
        review: PendingReview,
        decision: Decision,
        by: str,
    ) -> Continue:
        """``choose`` takes the branch of the first picked option; the output has them all."""
        if decision.action != "choose":
            raise refuse(decision.action, self.type_name, review.actions)
        choices = picked(decision, params)
        return Continue(
            choices[0],
            {
                "action": "choose",
                "choice": choices[0],
                "choices": choices,
                "by": by,
                "note": decision.note,
                "data": form_values(params.form, decision.data),
            },
        )
