"""Bounded work: every limit a workflow file, a template or a condition meets, in one place.

A workflow is user input, and so are the items it runs on. Whatever they hold, loading,
checking and running them must take bounded time and memory and end in a clear message,
never a hang, an exhausted machine or an internal error. The limits below are generous
for real workflows (the largest example is ~5 KB, its templates a few lines) and small
enough that the worst input costs a few seconds and a few hundred MB at most.

Where they apply:

* **YAML files** (``runtime.spec``): size in bytes, nesting depth, the number of values
  once aliases (``*name``) are expanded (the "billion laughs" bomb), duplicate keys.
* **Templates** (``runtime.sandbox``, Jinja2's sandbox): the size of every string or list
  an operator, filter or method makes, integer size, format widths, ``range``, loop
  iterations, render time, output size, source length and nesting.
* **Conditions** (``runtime.expressions``, simpleeval): the same operand sizes, source
  length and nesting.

Static refusals are reported by ``validate`` and the builder; the same checks at run time
fail the step with the same message. Each message names the limit, e.g. ``(limit:
MAX_TEXT = 1,000,000)``.

This module only measures and refuses (``check_*`` raise :class:`LimitError`); it imports
nothing from the rest of Loopgate.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

# ---------------------------------------------------------------- workflow files (YAML)

#: Bytes a workflow file may have (the largest example has ~5 KB).
MAX_YAML_BYTES = 1_048_576
#: Nesting depth of YAML collections (the file format itself needs 5).
MAX_YAML_DEPTH = 64
#: Values (scalars, lists, mappings) in a file once every alias is expanded.
MAX_YAML_VALUES = 200_000

# ---------------------------------------------------------------- templates and conditions

#: Characters in a string, or elements in a list, that one operation may make; also the
#: size of a template's output.
MAX_TEXT = 1_000_000
#: Characters all operations of one render or evaluation may make together.
MAX_MADE = 10_000_000
#: Decimal digits of an integer an operation may make (Python prints at most 4,300).
MAX_INT_DIGITS = 4_300
#: Width or precision in a format: ``'%10d'``, ``'{:>10}'``, ``f'{x:10}'``, ``center(10)``.
MAX_FORMAT_WIDTH = 10_000
#: Numbers in ``range(...)`` inside a template.
MAX_RANGE = 10_000
#: Loop iterations of one template render (all loops together, nested ones multiply).
MAX_LOOP_STEPS = 100_000
#: Seconds one template render or condition may take.
MAX_RENDER_SECONDS = 2.0
#: Nesting of brackets, operators, filters and blocks in one template or condition.
MAX_NESTING = 32
#: Characters of one template's source.
MAX_TEMPLATE_CHARS = 100_000
#: Characters of one condition's source.
MAX_EXPRESSION_CHARS = 10_000


class LimitError(ValueError):
    """An input that would take more time or memory than Loopgate allows; says which limit."""


def _limit(name: str) -> str:
    return f"(limit: {name} = {globals()[name]:,} in runtime/limits.py)"


# ---------------------------------------------------------------- a render's budget


@dataclass
class Budget:
    """What one render or evaluation has used: loop steps, characters made, its deadline."""

    deadline: float
    steps: int = 0
    made: int = 0


_BUDGET: ContextVar[Budget | None] = ContextVar("loopgate_budget", default=None)


@contextmanager
def budget(seconds: float = MAX_RENDER_SECONDS) -> Iterator[Budget]:
    """Give the code inside one budget (an outer budget, if any, is kept and shared)."""
    current = _BUDGET.get()
    if current is not None:
        yield current
        return
    token = _BUDGET.set(Budget(deadline=time.monotonic() + seconds))
    try:
        yield _BUDGET.get()  # type: ignore[misc]
    finally:
        _BUDGET.reset(token)


def step(count: int = 1) -> None:
    """Count loop iterations against the budget; refuse past the steps or the time."""
    current = _BUDGET.get()
    if current is None:
        return
    current.steps += count
    if current.steps > MAX_LOOP_STEPS:
        raise LimitError(f"loops ran more than {MAX_LOOP_STEPS:,} times {_limit('MAX_LOOP_STEPS')}")
    if current.steps % 256 == 0:
        check_time()


def check_time() -> None:
    """Refuse when the current budget's time is up."""
    current = _BUDGET.get()
    if current is not None and time.monotonic() > current.deadline:
        raise LimitError(
            f"took longer than {MAX_RENDER_SECONDS:g} s {_limit('MAX_RENDER_SECONDS')}"
        )


def spend(value: Any) -> Any:
    """Count what an operation made against the budget; return the value."""
    size = _size(value)
    if size > MAX_TEXT:
        raise LimitError(f"would make {size:,} characters or elements {_limit('MAX_TEXT')}")
    current = _BUDGET.get()
    if current is not None:
        current.made += size
        if current.made > MAX_MADE:
            raise LimitError(f"made more than {MAX_MADE:,} characters {_limit('MAX_MADE')}")
        check_time()
    return value


def _size(value: Any) -> int:
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return len(value)
    return 0


# ---------------------------------------------------------------- operators


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _digits(value: int) -> int:
    return max(1, math.ceil(abs(value).bit_length() * math.log10(2)))


def _text(size: int, what: str) -> None:
    if size > MAX_TEXT:
        raise LimitError(f"{what} would make {size:,} characters or elements {_limit('MAX_TEXT')}")


def _int_digits(digits: float, what: str) -> None:
    if digits > MAX_INT_DIGITS:
        raise LimitError(
            f"{what} would make a number of about {digits:,.0f} digits {_limit('MAX_INT_DIGITS')}"
        )


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``left <operator> right`` when its result would be too big to make.

    Checks ``*`` (repeating a string or list; multiplying big integers), ``**`` (integer
    powers), ``+`` (joining strings or lists) and ``%`` (printf-style formatting).
    """
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if _is_int(times) and _size(seq) and isinstance(seq, str | bytes | list | tuple):
                _text(len(seq) * max(times, 0), "repeating")
        if _is_int(left) and _is_int(right):
            _int_digits(_digits(left) + _digits(right), "multiplying")
    elif operator == "**":
        if _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
            _int_digits(right * math.log10(abs(left)), f"{_short(left)} ** {_short(right)}")
    elif operator == "+":
        if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            _text(len(left) + len(right), "joining")
    elif operator == "%" and isinstance(left, str):
        check_printf(left, right)


def _short(value: Any) -> str:
    text = (
        repr(value) if not _is_int(value) or _digits(value) < 30 else f"<{_digits(value)} digits>"
    )
    return text if len(text) <= 40 else text[:37] + "..."


# ---------------------------------------------------------------- formats

# One printf conversion: %[(name)][flags][width][.precision][length]type
_PRINTF = re.compile(r"%(\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.)", re.DOTALL)


def _width(width: str | int, what: str) -> int:
    """A format's width or precision (digits or an int), refused past MAX_FORMAT_WIDTH."""
    big = len(width) > 9 if isinstance(width, str) else abs(width) > 10**9
    if big or int(width) > MAX_FORMAT_WIDTH:
        if isinstance(width, str):
            shown = width if len(width) <= 12 else width[:9] + "..."
        else:
            shown = _short(width)
        raise LimitError(
            f"{what} asks for a width of {shown} characters {_limit('MAX_FORMAT_WIDTH')}"
        )
    return int(width)


def check_printf(fmt: str, args: Any) -> None:
    """Refuse ``fmt % args`` when a width or precision (also a ``*`` one) is too big."""
    positional = list(args) if isinstance(args, tuple) else [args]
    total = len(fmt)
    for match in _PRINTF.finditer(fmt):
        named, width, precision, kind = match.groups()
        if kind == "%":
            continue
        for part in (width, precision):
            if part == "*":
                value = positional.pop(0) if positional else 0
                if _is_int(value):
                    total += _width(abs(value), f"format {match.group(0)!r}")
            elif part:
                total += _width(part, f"format {match.group(0)!r}")
        if not named and positional:
            total += _size(str(positional.pop(0))) if isinstance(positional[0], str) else 0
    _text(total, "formatting")


def check_format_spec(spec: str) -> None:
    """Refuse a ``format()`` spec (``'>10'``, ``'.3f'``) whose width or precision is too big."""
    body = spec[2:] if len(spec) >= 2 and spec[1] in "<>=^" else spec
    for digits in re.findall(r"\d+", body):
        _width(digits, f"format spec {spec[:20]!r}")


# ---------------------------------------------------------------- methods


def check_method(owner: Any, name: str, args: tuple, kwargs: dict) -> None:
    """Refuse a ``str`` method call whose result would be too big to make.

    ``replace`` (``''.replace`` inserts between every character), ``ljust``, ``rjust``,
    ``center``, ``zfill``, ``expandtabs`` and ``join``.
    """
    if not isinstance(owner, str):
        return
    if name == "replace" and len(args) >= 2 and isinstance(args[0], str):
        old, new = args[0], args[1]
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        hits = len(owner) + 1 if old == "" else owner.count(old)
        if _is_int(count) and count >= 0:
            hits = min(hits, count)
        if isinstance(new, str):
            _text(len(owner) + hits * max(0, len(new) - len(old)), "replace()")
    elif name in ("ljust", "rjust", "center", "zfill") and args and _is_int(args[0]):
        _text(args[0], f"{name}()")
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if _is_int(size):
            _text(len(owner) + owner.count("\t") * max(size, 0), "expandtabs()")
    elif name == "join" and args and isinstance(args[0], list | tuple):
        parts = args[0]
        size = len(owner) * max(len(parts) - 1, 0) + sum(_size(p) for p in parts)
        _text(size, "join()")


def check_range(args: tuple) -> None:
    """Refuse ``range(...)`` with more than ``MAX_RANGE`` numbers."""
    try:
        size = len(range(*args))
    except OverflowError:
        size = MAX_RANGE + 1
    if size > MAX_RANGE:
        raise LimitError(f"range{args} has more than {MAX_RANGE:,} numbers {_limit('MAX_RANGE')}")


def check_count(count: int, what: str) -> None:
    """Refuse an operation over more than ``MAX_RANGE`` parts whose cost grows faster than
    its size (``sum`` of lists copies its running total every time)."""
    if count > MAX_RANGE:
        raise LimitError(f"{what} of {count:,} parts is too slow {_limit('MAX_RANGE')}")


def check_nesting(depth: int, what: str) -> None:
    """Refuse nesting deeper than ``MAX_NESTING``."""
    if depth > MAX_NESTING:
        raise LimitError(
            f"{what} is nested more than {MAX_NESTING} levels deep (brackets, operators, "
            f"filters, blocks) {_limit('MAX_NESTING')}; split it up"
        )


def check_source(source: str, limit_name: str, what: str) -> None:
    """Refuse a template or condition source longer than its limit."""
    limit = globals()[limit_name]
    if len(source) > limit:
        raise LimitError(f"{what} has {len(source):,} characters {_limit(limit_name)}")
