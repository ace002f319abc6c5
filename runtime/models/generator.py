"""Template-based text generation: the builtin provider's offline "generate" step.

Workflow authors write Jinja2 templates such as
``"Hi {{ name }}, your refund of {{ amount }} for {{ order_id }} is on its way."``.
Templates come from people who edit workflows, so they are rendered in Jinja2's
immutable sandbox, bounded (``runtime.sandbox``): they can read the data they are
given, call safe filters and loop, but cannot reach Python internals
(``''.__class__``), call unsafe methods, change the data passed in, or pass the
size, loop and time limits of ``runtime.limits``. A name the data does not have is
an error rather than silently empty text.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError

from runtime.limits import LimitError
from runtime.models.errors import ModelError
from runtime.sandbox import BoundedSandbox, check_nesting, render_bounded

# Plain text, not HTML: escaping would turn "Tom & Jerry" into "Tom &amp; Jerry".
_ENV = BoundedSandbox(
    undefined=StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)


@lru_cache(maxsize=256)
def _compile(template: str) -> Template:
    check_nesting(_ENV, template)
    return _ENV.from_string(template)


def render_text(template: str, data: Mapping[str, Any]) -> str:
    """Render a Jinja2 template with ``data`` in a sandbox.

    Args:
        template: Jinja2 template text, e.g. ``"Dear {{ name | title }},"``.
        data: the variables the template may use.

    Returns:
        The rendered text.

    Raises:
        ModelError: the template has a syntax error, uses a variable that
            ``data`` lacks, tries something the sandbox forbids, passes a limit
            of ``runtime.limits``, or fails while rendering; the message carries
            the explanation.

    Example:
        >>> render_text("Refund of {{ amount }} for {{ order }}", {"amount": "$12", "order": "A1"})
        'Refund of $12 for A1'
    """
    if not isinstance(template, str):
        raise ModelError(f"a template must be text, not {type(template).__name__}")
    if not isinstance(data, Mapping):
        raise ModelError(f"template data must be a mapping of names to values, not {type(data)}")
    try:
        compiled = _compile(template)
    except LimitError as exc:
        raise ModelError(f"template refused: {exc}") from None
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" on line {line}" if line else ""
        raise ModelError(f"template error{where}: {exc.message or exc}") from exc
    try:
        return render_bounded(compiled, dict(data))
    except LimitError as exc:
        raise ModelError(f"template failed: {exc}") from None
    except TemplateError as exc:
        raise ModelError(f"template error: {exc.message or exc}") from exc
    except Exception as exc:  # e.g. {{ 1 / 0 }} or {{ "a" + 1 }}
        raise ModelError(f"template failed while rendering: {type(exc).__name__}: {exc}") from exc
