"""Jinja2's immutable sandbox, bounded: templates cannot make huge values or run forever.

Jinja2's sandbox keeps templates away from Python internals but lets them allocate as
much as they like (``{{ '%999999999d' % 1 }}``, ``{{ 'x' * 10**9 }}``, ``{{ 10**10**7 }}``)
and loop as long as they like (three nested loops over a long string). ``BoundedSandbox``
closes that with the limits of :mod:`runtime.limits`:

* the operators ``*``, ``**``, ``+`` and ``%`` are intercepted (which also stops Jinja from
  folding them while a template is only being checked) and refused when their result
  would be too big; ``~`` joins are measured;
* ``str`` methods (``replace``, ``ljust``, ``center``, ``zfill``, ``expandtabs``,
  ``join``), ``format``/``format_map`` specs and the amplifying filters (``center``,
  ``indent``, ``replace``, ``format``, ``join``, ``batch``, ``slice``, ``tojson``, ``sum``
  of lists) are checked before they run; ``range`` is capped;
* every ``for`` loop counts its iterations against the render's budget (steps and time);
* :func:`render_bounded` renders through ``generate()`` and stops at the output cap.

:func:`static_problem` finds what can be refused without data (constants), so
``validate`` reports ``{{ '%999999999d' % 1 }}`` instead of running it, and
:func:`check_nesting` refuses deep nesting before Jinja's parser recurses into it.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Iterator
from functools import update_wrapper
from string import Formatter
from typing import Any

from jinja2 import Template, nodes
from jinja2.compiler import CodeGenerator
from jinja2.nodes import Impossible
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter

from runtime import limits
from runtime.limits import LimitError

_GUARDED_BINOPS = frozenset({"*", "**", "+", "%"})
_STR_METHODS = frozenset({"replace", "ljust", "rjust", "center", "zfill", "expandtabs", "join"})


class _BoundedCodeGenerator(CodeGenerator):
    """Wraps every loop's iterable in ``environment.bounded_iter`` and every ``~`` join in
    ``environment.measured``."""

    def visit_For(self, node: nodes.For, frame: Any) -> None:
        """Count the loop's iterations (the node is copied; the parsed tree stays as is)."""
        counted = nodes.Call(
            nodes.EnvironmentAttribute("bounded_iter", lineno=node.lineno),
            [node.iter],
            [],
            None,
            None,
            lineno=node.lineno,
        )
        values = [counted if name == "iter" else getattr(node, name) for name in node.fields]
        copy = nodes.For(*values, lineno=node.lineno)
        super().visit_For(copy, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Any) -> None:
        """Measure what ``~`` made."""
        self.write("environment.measured(")
        super().visit_Concat(node, frame)
        self.write(")")


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` in the sandbox, refusing huge widths and precisions."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        """Check the spec (after nested fields are filled in), then format."""
        limits.check_format_spec(format_spec)
        return limits.spend(super().format_field(value, format_spec))


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """An immutable Jinja2 sandbox whose templates stay within :mod:`runtime.limits`."""

    intercepted_binops = _GUARDED_BINOPS
    code_generator_class = _BoundedCodeGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = bounded_range
        for name, guard in _FILTER_GUARDS.items():
            self.filters[name] = _guarded_filter(self.filters[name], guard)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """``*``, ``**``, ``+``, ``%``: refuse a too-big result before making it."""
        limits.check_binop(operator, left, right)
        return limits.spend(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """A call from a template: check ``str`` methods that can amplify, measure the result."""
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and isinstance(__obj, types.BuiltinMethodType):
            name = __obj.__name__
            if name in _STR_METHODS:
                if name == "join" and args and not isinstance(args[0], list | tuple):
                    args = (list(args[0]), *args[1:])
                limits.check_method(owner, name, args, kwargs)
        limits.check_time()
        return limits.spend(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format``/``format_map`` through a formatter that checks every spec."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or (
            value.__name__ not in ("format", "format_map")
        ):
            return None
        owner = value.__self__
        if not isinstance(owner, str):
            return None
        vformat = _BoundedFormatter(self).vformat
        is_map = value.__name__ == "format_map"

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one mapping")
                kwargs, args = args[0], ()
            return limits.spend(str(vformat(owner, args, kwargs)))

        return update_wrapper(wrapper, value)

    @staticmethod
    def bounded_iter(iterable: Iterable[Any]) -> Iterator[Any]:
        """A loop's iterable, each iteration counted against the render's budget."""
        for value in iterable:
            limits.step()
            yield value

    @staticmethod
    def measured(value: Any) -> Any:
        """A ``~`` join's result, counted against the budget."""
        return limits.spend(value)


def bounded_range(*args: int) -> range:
    """``range`` for templates: at most ``MAX_RANGE`` numbers."""
    limits.check_range(args)
    return range(*args)


# ---------------------------------------------------------------- filters


def _center(value: Any, width: Any = 80, *_: Any, **__: Any) -> None:
    limits.check_method(str(value), "center", (width,), {})


def _indent(value: Any, width: Any = 4, *_: Any, **__: Any) -> None:
    text = str(value)
    pad = len(width) if isinstance(width, str) else width
    if isinstance(pad, int):
        limits.check_binop("*", " ", max(pad, 0) * (text.count("\n") + 1))


def _replace(value: Any, old: Any = "", new: Any = "", count: Any = None, **__: Any) -> None:
    limits.check_method(str(value), "replace", (old, new, -1 if count is None else count), {})


def _format(value: Any, *args: Any, **kwargs: Any) -> None:
    limits.check_printf(str(value), kwargs or args)


def _join(value: Any, d: Any = "", attribute: Any = None, **__: Any) -> None:
    if isinstance(value, list | tuple) and isinstance(d, str):
        limits.check_method(d, "join", (value,), {})


def _batch(value: Any, linecount: Any = 1, fill_with: Any = None, **__: Any) -> None:
    if fill_with is not None and isinstance(linecount, int):
        limits.check_binop("*", [fill_with], linecount)


def _slice(value: Any, slices: Any = 1, fill_with: Any = None, **__: Any) -> None:
    if isinstance(slices, int):
        limits.check_range((slices,))


def _tojson(value: Any, indent: Any = None, **__: Any) -> None:
    if isinstance(indent, int):
        limits.check_format_spec(str(indent))


def _sum(value: Any, attribute: Any = None, start: Any = 0, **__: Any) -> None:
    # Summing lists or strings copies the running total each time: quadratic.
    if not isinstance(start, int | float) and isinstance(value, list | tuple):
        limits.check_count(len(value), "sum() of lists or strings")


_FILTER_GUARDS: dict[str, Callable[..., None]] = {
    "sum": _sum,
    "center": _center,
    "indent": _indent,
    "replace": _replace,
    "format": _format,
    "join": _join,
    "batch": _batch,
    "slice": _slice,
    "tojson": _tojson,
}


def _guarded_filter(func: Callable[..., Any], guard: Callable[..., None]) -> Callable[..., Any]:
    """``func`` checked by ``guard`` (same arguments, the context-like first one left out)."""
    offset = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    def guarded(*args: Any, **kwargs: Any) -> Any:
        if guard is _join and len(args) > offset and not isinstance(args[offset], list | tuple):
            args = (*args[:offset], list(args[offset]), *args[offset + 1 :])
        guard(*args[offset:], **kwargs)
        return limits.spend(func(*args, **kwargs))

    return update_wrapper(guarded, func)


# ---------------------------------------------------------------- static checks


_NESTING_TOKENS = frozenset({"add", "sub", "mul", "div", "floordiv", "mod", "pow", "dot", "pipe"})
_NESTING_NAMES = frozenset({"and", "or", "not", "is", "if", "else"})
_SIBLING_TOKENS = frozenset({"comma", "tilde", "colon", "eq", "ne", "lt", "lteq", "gt", "gteq"})
_OPEN = frozenset({"lparen", "lbracket", "lbrace"})
_CLOSE = frozenset({"rparen", "rbracket", "rbrace"})
_BLOCK_TAGS = frozenset(
    {"for", "if", "macro", "call", "filter", "with", "block", "autoescape", "set", "trans"}
)


def check_nesting(env: BoundedSandbox, source: str, what: str = "template") -> None:
    """Refuse a template nested deeper than ``MAX_NESTING``, reading only its tokens (the
    lexer does not recurse; Jinja's parser and compiler do, once per level).

    Raises:
        LimitError: naming the limit.
        TemplateSyntaxError: when the template does not even lex.
    """
    limits.check_source(source, "MAX_TEMPLATE_CHARS", what)
    blocks = 0
    groups = [0]
    tag: str | None = None
    assigns = False
    for token in env.lexer.tokenize(source):
        kind = token.type
        if kind in ("variable_begin", "block_begin"):
            groups, tag, assigns = [0], "" if kind == "block_begin" else None, False
            continue
        if kind == "block_end":
            if tag and tag.startswith("end"):
                blocks = max(blocks - 1, 0)
            elif tag in _BLOCK_TAGS and not (tag == "set" and assigns):
                blocks += 1
            tag = None
            continue
        if tag == "" and kind == "name":
            tag = token.value
            continue
        assigns |= kind == "assign"
        if kind in _OPEN:
            groups.append(0)
        elif kind in _CLOSE and len(groups) > 1:
            groups.pop()
        elif kind in _SIBLING_TOKENS:
            groups[-1] = 0
        elif kind in _NESTING_TOKENS or (kind == "name" and token.value in _NESTING_NAMES):
            groups[-1] += 1
        limits.check_nesting(blocks + len(groups) - 1 + sum(groups), what)
    limits.check_nesting(blocks, what)


def tree_depth(tree: nodes.Node) -> int:
    """How deep a parsed template's tree is (counted without recursing)."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return deepest


def static_problem(env: BoundedSandbox, tree: nodes.Template) -> str | None:
    """What the template would be refused for whatever the data (its constant parts), or
    None: ``{{ 'x' * 10**9 }}``, ``{{ '%999999999d' % 1 }}``, ``{{ 'a'|center(10**9) }}``."""
    if tree_depth(tree) > 4 * limits.MAX_NESTING:
        try:
            limits.check_nesting(limits.MAX_NESTING + 1, "template")
        except LimitError as exc:
            return str(exc)
    for node in tree.find_all((nodes.BinExpr, nodes.Filter, nodes.Call, nodes.Concat)):
        try:
            _static(env, node)
        except LimitError as exc:
            return str(exc)
        except Exception:  # noqa: S112 - not constant, or fails only at run time: fine here
            continue
    return None


def _static(env: BoundedSandbox, node: nodes.Node) -> Any:
    """A node's constant value, computed through the same checks as at run time."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.List | nodes.Tuple):
        values = [_static(env, item) for item in node.items]
        return values if isinstance(node, nodes.List) else tuple(values)
    if isinstance(node, nodes.Neg | nodes.Pos):
        value = _static(env, node.node)
        return -value if isinstance(node, nodes.Neg) else +value
    if isinstance(node, nodes.BinExpr):
        left = _static(env, node.left)
        if node.operator == "%" and isinstance(left, str):
            limits.check_printf(left, ())  # the widths written in the format itself
        right = _static(env, node.right)
        if node.operator in _GUARDED_BINOPS:
            return env.call_binop(None, node.operator, left, right)
        return env.binop_table[node.operator](left, right)
    if isinstance(node, nodes.Concat):
        return limits.spend("".join(str(_static(env, part)) for part in node.nodes))
    if (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Getattr)
        and node.node.attr in ("format", "format_map")
        and isinstance(node.node.node, nodes.Const)
        and isinstance(node.node.node.value, str)
    ):
        for _, _, spec, _ in Formatter().parse(node.node.node.value):
            if spec and "{" not in spec:
                limits.check_format_spec(spec)  # the widths written in the format itself
    args = [_static(env, a) for a in getattr(node, "args", [])]
    kwargs = {kw.key: _static(env, kw.value) for kw in getattr(node, "kwargs", [])}
    if isinstance(node, nodes.Filter) and node.name in _FILTER_GUARDS and node.node is not None:
        _FILTER_GUARDS[node.name](_static(env, node.node), *args, **kwargs)
    elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
        if node.node.attr in _STR_METHODS:
            limits.check_method(_static(env, node.node.node), node.node.attr, tuple(args), kwargs)
        elif node.node.attr in ("format", "format_map"):
            owner = _static(env, node.node.node)
            if isinstance(owner, str):
                env.wrap_str_format(getattr(owner, node.node.attr))(*args, **kwargs)
    elif (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Name)
        and node.node.name == "range"
    ):
        limits.check_range(tuple(args))
    raise Impossible()


# ---------------------------------------------------------------- rendering


def render_bounded(template: Template, data: dict[str, Any]) -> str:
    """Render within a budget, stopping as soon as the output passes ``MAX_TEXT``.

    Raises:
        LimitError: a limit was reached; Jinja's own errors as they are.
    """
    with limits.budget():
        parts: list[str] = []
        size = 0
        for chunk in template.generate(**data):
            size += len(chunk)
            if size > limits.MAX_TEXT:
                raise LimitError(
                    f"output is longer than {limits.MAX_TEXT:,} characters "
                    "(limit: MAX_TEXT in runtime/limits.py)"
                )
            parts.append(chunk)
        return "".join(parts)


def evaluate_bounded(compiled: Callable[..., Any], data: dict[str, Any]) -> Any:
    """Evaluate a compiled ``{{ expression }}`` within a budget; refuse a too-big result."""
    with limits.budget():
        return limits.spend(compiled(**data))
