"""Templates (Jinja2, sandboxed) and conditions (simpleeval): parse early, evaluate safely."""

from __future__ import annotations

import ast
import functools
import io
import operator
import re
import tokenize
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, meta, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from simpleeval import DEFAULT_OPERATORS, EvalWithCompoundTypes, InvalidExpression

from runtime import limits
from runtime.limits import LimitError
from runtime.sandbox import (
    BoundedSandbox,
    check_nesting,
    evaluate_bounded,
    render_bounded,
    static_problem,
)

# The names a run's data offers to templates and conditions. Nothing else is implicit.
DATA_NAMES = frozenset({"item", "steps", "review"})


class _Undefined(StrictUndefined):
    """Strict when rendered or used, but falsy, so ``x.y or 'fallback'`` and ``if x.y`` work."""

    def __bool__(self) -> bool:
        return False


# Immutable: a template can read the run's data but never change it (no item.update(...));
# bounded: it cannot make huge values or loop forever (runtime/sandbox.py, runtime/limits.py).
_env = BoundedSandbox(
    undefined=_Undefined,
    autoescape=False,
    trim_blocks=True,
    finalize=lambda value: "" if value is None else value,
)
_SINGLE_EXPR = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}).)*)\}\}\s*$", re.DOTALL)

_FUNCTIONS = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "lower": lambda s: str(s).lower(),
    "upper": lambda s: str(s).upper(),
    "contains": lambda hay, needle: needle in (hay or ""),
}


class ExpressionError(ValueError):
    """A template or condition that does not parse or does not evaluate."""


def is_template(value: Any) -> bool:
    """True when a string holds Jinja2 syntax."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


_PATH = re.compile(r"^[A-Za-z]\w*(?:\.[A-Za-z]\w*)*$")


def _short(source: str) -> str:
    """A template or condition as messages quote it: at most 80 characters."""
    return repr(source if len(source) <= 80 else source[:77] + "...")


@functools.lru_cache(maxsize=4096)
def _compile_template(source: str):
    check_nesting(_env, source)
    match = _SINGLE_EXPR.match(source)
    if match:
        # A value that is exactly one {{ expression }} keeps its type (numbers stay numbers).
        expr = match.group("expr").strip()
        compiled = _env.compile_expression(expr, undefined_to_none=False)
        if _PATH.match(expr):
            return "path", (tuple(expr.split(".")), compiled)
        return "expr", compiled
    return "text", _env.from_string(source)


_MISSING = object()


def _lookup(path: tuple[str, ...], data: dict[str, Any]) -> Any:
    """``{{ a.b.c }}`` over plain dicts, as the sandbox would resolve it, without Jinja's
    per-call cost; anything else (a missing key, a key that is also a dict method, a
    non-dict on the way) returns _MISSING and goes through Jinja."""
    value: Any = data
    for part in path:
        if type(value) is not dict or part in _DICT_ATTRS:
            return _MISSING
        value = value.get(part, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


_DICT_ATTRS = frozenset(dir(dict))


def check_template(source: str, node_ids: set[str] | None = None) -> str | None:
    """The problem with a template, or None when it parses, uses only known names and
    stays within the limits whatever the data (runtime/limits.py)."""
    try:
        check_nesting(_env, source)
        parsed = _env.parse(source)
    except TemplateSyntaxError as exc:
        return f"template syntax error: {exc.message} (line {exc.lineno}) in {_short(source)}"
    except LimitError as exc:
        return f"template {_short(source)} is refused: {exc}"
    refused = static_problem(_env, parsed)
    if refused:
        return f"template {_short(source)} is refused: {refused}"
    unknown = meta.find_undeclared_variables(parsed) - DATA_NAMES
    if unknown:
        names = ", ".join(sorted(unknown))
        return f"template uses unknown name(s) {names}; use item, steps or review"
    if node_ids is not None:
        for ref in _template_step_refs(parsed):
            if ref not in node_ids:
                return f"template refers to steps.{ref}, but there is no node {ref!r}"
    return None


def _template_step_refs(parsed: nodes.Template) -> set[str]:
    refs = set()
    for getattr_node in parsed.find_all(nodes.Getattr):
        target = getattr_node.node
        if isinstance(target, nodes.Name) and target.name == "steps":
            refs.add(getattr_node.attr)
    for getitem in parsed.find_all(nodes.Getitem):
        target = getitem.node
        if (
            isinstance(target, nodes.Name)
            and target.name == "steps"
            and isinstance(getitem.arg, nodes.Const)
            and isinstance(getitem.arg.value, str)
        ):
            refs.add(getitem.arg.value)
    return refs


def render(source: Any, data: dict[str, Any]) -> Any:
    """Render a template against a run's data.

    A plain (non-template) value is returned as it is; ``"{{ x }}"`` returns x's own type.

    Raises:
        ExpressionError: on an undefined name or attribute, or a sandbox violation.
    """
    if not is_template(source):
        return source
    try:
        kind, compiled = _compile_template(source)
        if kind == "path":
            value = _lookup(compiled[0], data)
            if value is not _MISSING:
                return value
            kind, compiled = "expr", compiled[1]
        if kind == "expr":
            value = evaluate_bounded(compiled, data)
            if isinstance(value, Undefined):
                value._fail_with_undefined_error()
            return value
        return render_bounded(compiled, data)
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"template syntax error: {exc.message}") from None
    except UndefinedError as exc:
        raise ExpressionError(f"template {_short(source)}: {exc.message}") from None
    except SecurityError as exc:
        raise ExpressionError(f"template {_short(source)} is not allowed: {exc}") from None
    except LimitError as exc:
        raise ExpressionError(f"template {_short(source)} failed: {exc}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(
            f"template {_short(source)} failed: it recursed or allocated too much "
            "(a macro calling itself?)"
        ) from None
    except Exception as exc:  # a template is user code: report, never crash the run
        raise ExpressionError(
            f"template {_short(source)} failed: {type(exc).__name__}: {exc}"
        ) from None


def render_values(value: Any, data: dict[str, Any]) -> Any:
    """Render every template inside a nested structure of dicts, lists and strings."""
    if isinstance(value, str):
        return render(value, data)
    if isinstance(value, dict):
        return {k: render_values(v, data) for k, v in value.items()}
    if isinstance(value, list):
        return [render_values(v, data) for v in value]
    return value


# Methods a condition may call: they read, never change, the run's data.
_SAFE_METHODS = frozenset(
    {
        "get",
        "keys",
        "values",
        "items",
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "startswith",
        "endswith",
        "split",
        "count",
        "index",
        "find",
        "replace",
        "title",
        "isdigit",
        "isalpha",
    }
)


# Python tokens that nest the parsed tree one level deeper (within one bracket group);
# siblings (commas, comparisons, and/or) start the count of their group anew.
_NESTING_OPS = frozenset(
    ["+", "-", "*", "/", "//", "%", "**", "@", "&", "|", "^", "<<", ">>", "~", "."]
)
_NESTING_NAMES = frozenset({"not", "if", "else", "lambda"})
_SIBLINGS = frozenset([",", ":", "==", "!=", "<", "<=", ">", ">=", "and", "or", "in", "is"])


def _check_expression_nesting(source: str) -> None:
    """Refuse a condition longer or more deeply nested than the limits allow, reading its
    tokens only: Python's parser and simpleeval recurse once per level (a few thousand
    ``-`` exhaust the parser's memory)."""
    limits.check_source(source, "MAX_EXPRESSION_CHARS", "expression")
    groups = [0]
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            text = token.string
            if text in ("(", "[", "{"):
                groups.append(0)
            elif text in (")", "]", "}") and len(groups) > 1:
                groups.pop()
            elif text in _SIBLINGS:
                groups[-1] = 0
            elif text in _NESTING_OPS or (token.type == tokenize.NAME and text in _NESTING_NAMES):
                groups[-1] += 1
            limits.check_nesting(len(groups) - 1 + sum(groups), "expression")
    except (tokenize.TokenError, SyntaxError):
        return  # the parser reports it, with its own message


@functools.lru_cache(maxsize=4096)
def _parse_expression(source: str) -> ast.AST:
    try:
        _check_expression_nesting(source)
        tree = EvalWithCompoundTypes.parse(source)
    except LimitError as exc:
        raise ExpressionError(f"expression {_short(source)} is refused: {exc}") from None
    except SyntaxError as exc:
        raise ExpressionError(f"expression syntax error in {_short(source)}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"expression {_short(source)} is nested too deeply") from None
    return tree


def _guarded(symbol: str, func: Any) -> Any:
    def run(left: Any, right: Any) -> Any:
        limits.check_binop(symbol, left, right)
        return limits.spend(func(left, right))

    return run


_OPERATORS = {
    **DEFAULT_OPERATORS,
    ast.Mult: _guarded("*", operator.mul),
    ast.Pow: _guarded("**", operator.pow),
    ast.Add: _guarded("+", operator.add),
    ast.Mod: _guarded("%", operator.mod),
}


class _BoundedEval(EvalWithCompoundTypes):
    """simpleeval with Loopgate's limits: operand sizes (``*``, ``**``, ``+``, ``%``),
    amplifying ``str`` methods, format specs, and time."""

    def __init__(self, names: dict[str, Any]) -> None:
        super().__init__(operators=dict(_OPERATORS), functions=dict(_FUNCTIONS), names=names)
        self._steps = 0

    def _eval(self, node: ast.AST) -> Any:
        self._steps += 1
        if self._steps % 256 == 0:
            limits.check_time()
        return super()._eval(node)

    def _eval_call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Attribute):
            return limits.spend(super()._eval_call(node))
        func = self._eval(node.func)
        args = tuple(self._eval(a) for a in node.args)
        kwargs = dict(self._eval(k) for k in node.keywords)
        owner = getattr(func, "__self__", None)
        if isinstance(owner, str):
            if func.__name__ == "join" and args and not isinstance(args[0], list | tuple):
                args = (list(args[0]), *args[1:])
            limits.check_method(owner, func.__name__, args, kwargs)
        return limits.spend(func(*args, **kwargs))

    def _eval_formattedvalue(self, node: ast.FormattedValue) -> Any:
        if node.format_spec:
            limits.check_format_spec(str(self._eval(node.format_spec)))
        return super()._eval_formattedvalue(node)


def _static_expression_problem(tree: ast.AST) -> str | None:
    """A limit the condition's constant parts break whatever the data (``'x' * 10**9``)."""
    evaluator = _BoundedEval(names={"true": True, "false": False, "null": None})
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp | ast.Call | ast.FormattedValue):
            try:
                with limits.budget():
                    left = getattr(node, "left", None)
                    if (
                        isinstance(left, ast.Constant)
                        and isinstance(left.value, str)
                        and isinstance(node.op, ast.Mod)
                    ):
                        limits.check_printf(left.value, ())  # the widths written in the format
                    evaluator._eval(node)
            except LimitError as exc:
                return str(exc)
            except Exception:  # noqa: S112 - needs data, or fails only at run time: fine here
                continue
    return None


def _unsafe_call(tree: ast.AST, source: str) -> str | None:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr not in _SAFE_METHODS
        ):
            return (
                f"expression {source!r} may not call .{node.func.attr}(); conditions only "
                f"read data (allowed methods: {', '.join(sorted(_SAFE_METHODS))})"
            )
    return None


def check_expression(source: str, node_ids: set[str] | None = None) -> str | None:
    """The problem with a condition, or None when it parses and uses only known names."""
    if not isinstance(source, str) or not source.strip():
        return "expression is empty"
    try:
        tree = _parse_expression(source)
    except ExpressionError as exc:
        return str(exc)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in DATA_NAMES and node.id not in _FUNCTIONS:
            if node.id in ("True", "False", "None", "true", "false", "null"):
                continue
            return (
                f"expression {source!r} uses unknown name {node.id!r}; "
                "use item, steps, review or one of " + ", ".join(sorted(_FUNCTIONS))
            )
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            return f"expression {source!r} may not use private attribute {node.attr!r}"
        ref = None
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "steps"
        ):
            ref = node.attr
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "steps"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            ref = node.slice.value
        if node_ids is not None and ref is not None and ref not in node_ids:
            return f"expression {source!r} refers to steps.{ref}, but there is no such node"
    refused = _unsafe_call(tree, source) or _static_expression_problem(tree)
    if refused and not refused.startswith("expression "):
        return f"expression {_short(source)} is refused: {refused}"
    return refused


def evaluate(source: str, data: dict[str, Any]) -> Any:
    """Evaluate a condition against a run's data with simpleeval.

    Raises:
        ExpressionError: on unknown names, missing fields or operations simpleeval refuses.
    """
    names = {**data, "true": True, "false": False, "null": None}
    evaluator = _BoundedEval(names=names)
    tree = _parse_expression(source)
    unsafe = _unsafe_call(tree, source)
    if unsafe:
        raise ExpressionError(unsafe)
    try:
        with limits.budget():
            return evaluator.eval(source, previously_parsed=tree)
    except ExpressionError:
        raise
    except LimitError as exc:
        raise ExpressionError(f"expression {_short(source)} failed: {exc}") from None
    except (InvalidExpression, KeyError, AttributeError, TypeError, ValueError) as exc:
        detail = str(exc) or type(exc).__name__
        raise ExpressionError(f"expression {_short(source)} failed: {detail}") from None
    except Exception as exc:
        raise ExpressionError(
            f"expression {_short(source)} failed: {type(exc).__name__}: {exc}"
        ) from None
