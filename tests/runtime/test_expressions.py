"""Templates (sandboxed Jinja2) and conditions (simpleeval): types, errors, safety, checks."""

from __future__ import annotations

import copy

import pytest

from runtime.expressions import (
    ExpressionError,
    check_expression,
    check_template,
    evaluate,
    is_template,
    render,
    render_values,
)


@pytest.fixture
def data():
    return {
        "item": {
            "amount": 120.5,
            "count": 3,
            "name": "Ann",
            "none": None,
            "tags": ["a", "b"],
            "flag": False,
            "nested": {"k": "v"},
        },
        "steps": {"intent": {"label": "refund", "confidence": 0.91}},
        "review": None,
    }


# ---------------------------------------------------------------- render


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ item.amount }}", 120.5),
        ("{{ item.count }}", 3),
        ("{{item.count}}", 3),
        ("  {{ item.count }}\n", 3),
        ("{{ item.tags }}", ["a", "b"]),
        ("{{ item.nested }}", {"k": "v"}),
        ("{{ item.flag }}", False),
        ("{{ item.count > 2 }}", True),
        ("{{ item.count * 2 }}", 6),
        ("{{ steps.intent.confidence }}", 0.91),
        ("{{ {'a': item.count} }}", {"a": 3}),
        ("{{ item.none }}", None),
        ("{{ review }}", None),
    ],
)
def test_single_expression_keeps_its_type(source, expected, data):
    value = render(source, data)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ item.name }} spent {{ item.amount }}", "Ann spent 120.5"),
        ("count={{ item.count }}", "count=3"),
        ("{{ item.count }}{{ item.count }}", "33"),
        ("{{ steps.intent.label|upper }}!", "REFUND!"),
        ("{% if item.count > 2 %}many{% else %}few{% endif %}", "many"),
        ("{% for t in item.tags %}[{{ t }}]{% endfor %}", "[a][b]"),
        ("x{{ item.none }}y", "xy"),  # None renders empty
        ("x{{ review }}y", "xy"),
    ],
)
def test_text_rendering(source, expected, data):
    assert render(source, data) == expected


def test_plain_values_pass_through(data):
    for value in ["no template here", "{ single brace }", 5, None, ["{{ x }}"], {"a": 1}]:
        assert render(value, data) is value
    assert not is_template("a } b {")
    assert is_template("{{ x }}") and is_template("{% if x %}{% endif %}")


def test_render_values_walks_nested_structures(data):
    src = {
        "a": "{{ item.count }}",
        "b": ["{{ item.name }}", 7, {"c": "n={{ item.count }}"}],
        "d": True,
    }
    assert render_values(src, data) == {"a": 3, "b": ["Ann", 7, {"c": "n=3"}], "d": True}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ item.missing or 'fallback' }}", "fallback"),
        ("value: {{ item.missing or 'fallback' }}", "value: fallback"),
        ("{{ steps.intent.missing or 'none' }}", "none"),
        ("{% if item.missing %}yes{% else %}no{% endif %}", "no"),
        ("{{ item.missing is defined }}", False),
        ("{{ steps.intent is defined }}", True),
    ],
)
def test_missing_values_can_fall_back(source, expected, data):
    assert render(source, data) == expected


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("{{ item.missing }}", "missing"),
        ("total: {{ item.missing }}", "missing"),
        ("{{ nope }}", "'nope' is undefined"),
        ("{{ steps.ghost.label }}", "ghost"),
        ("{{ item.missing.deeper }}", "missing"),
    ],
)
def test_undefined_is_an_error(source, fragment, data):
    with pytest.raises(ExpressionError) as info:
        render(source, data)
    assert fragment in str(info.value)
    assert source in str(info.value)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__ }}",
        "{{ item.__class__ }}",
        "{{ item.name.__len__() }}",
        "{{ ''|attr('__class__') }}",
        "{{ '{0.__class__}'.format(1) }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'] }}",
        "text {{ ''.__class__.__mro__[1].__subclasses__() }} text",
    ],
)
def test_sandbox_refuses_private_attributes(source, data):
    with pytest.raises(ExpressionError, match=r"not allowed|unsafe"):
        render(source, data)


def test_sandbox_refuses_huge_ranges(data):
    with pytest.raises(ExpressionError, match=r"[Rr]ange"):
        render("{{ range(10**9)|list|length }}", data)


def test_runtime_failures_are_expression_errors(data):
    with pytest.raises(ExpressionError, match="ZeroDivisionError"):
        render("{{ 1 / 0 }}", data)
    with pytest.raises(ExpressionError, match="syntax"):
        render("{{ item. }}", data)


def test_templates_cannot_change_run_data(data):
    before = copy.deepcopy(data)
    with pytest.raises(ExpressionError):
        render("{{ item.update({'amount': 0}) }}{{ item.tags.append('x') }}", data)
    assert data == before


# ---------------------------------------------------------------- check_template


@pytest.mark.parametrize(
    "source",
    [
        "{{ item.x }}",
        "a {{ steps.intent.label }} b",
        "{{ review.note if review else '' }}",
        "{% for t in item.tags %}{{ t }}{% endfor %}",
        "{% set x = 1 %}{{ x }}",
        "plain",
    ],
)
def test_check_template_accepts_good_templates(source):
    assert check_template(source, {"intent"}) is None


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("{{ item.x ", "syntax error"),
        ("{% if %}x{% endif %}", "syntax error"),
        ("{% for x in item %}", "syntax error"),
        ("{{ item..x }}", "syntax error"),
        ("{{ customer.name }}", "unknown name(s) customer"),
        ("{{ a }} {{ b }}", "unknown name(s) a, b"),
        ("{{ steps.ghost.label }}", "steps.ghost"),
    ],
)
def test_check_template_reports_problems(source, fragment):
    problem = check_template(source, {"intent"})
    assert problem is not None and fragment in problem


def test_check_template_syntax_error_names_line_and_source():
    problem = check_template("line one\n{{ item.x ", None)
    assert "line 2" in problem and "item.x" in problem


def test_check_template_without_node_ids_skips_step_references():
    assert check_template("{{ steps.anything.at_all }}") is None


# ---------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("item.amount > 100", True),
        ("item.amount <= 100", False),
        ("item.count == 3 and item.name == 'Ann'", True),
        ("item.none is None", True),
        ("not item.flag", True),
        ("'a' in item.tags", True),
        ("len(item.tags) == 2", True),
        ("steps.intent.confidence >= 0.9", True),
        ("steps.intent.label == 'refund'", True),
        ("lower(item.name) == 'ann'", True),
        ("contains(item.name, 'n')", True),
        ("max(item.count, 10)", 10),
        ("item['count'] + 1", 4),
        ("true and not false", True),
        ("null == None", True),
        ("item.count if item.flag else -1", -1),
        ("review is None", True),
    ],
)
def test_evaluate(expr, expected, data):
    assert evaluate(expr, data) == expected
    assert check_expression(expr, {"intent"}) is None


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("item.missing > 1", "missing"),
        ("item.name + 1", "failed"),
        ("item.none > 1", "failed"),
        ("'a' * 10**9", "failed"),
        ("__import__('os')", "__import__"),
        ("item.__class__", "__class__"),
        ("(1).__class__.__bases__", "__class__"),
        ("open('/etc/passwd')", "open"),
        ("lambda: 1", "Lambda"),
    ],
)
def test_evaluate_refuses(expr, fragment, data):
    with pytest.raises(ExpressionError) as info:
        evaluate(expr, data)
    assert fragment in str(info.value)


def test_evaluate_syntax_error(data):
    with pytest.raises(ExpressionError, match="syntax error"):
        evaluate("item.amount >", data)


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("item.amount >", "syntax error"),
        ("amount > 5", "unknown name 'amount'"),
        ("__import__('os').system('x')", "unknown name '__import__'"),
        ("eval('1')", "unknown name 'eval'"),
        ("item.__class__", "private attribute '__class__'"),
        ("item._secret == 1", "private attribute '_secret'"),
        ("steps.ghost.label == 'x'", "steps.ghost"),
        ("steps.ghost", "steps.ghost"),
    ],
)
def test_check_expression_reports_problems(expr, fragment):
    problem = check_expression(expr, {"intent"})
    assert problem is not None and fragment in problem


def test_check_expression_names_the_usable_names():
    problem = check_expression("amount > 5")
    assert "item, steps, review" in problem and "len" in problem


def test_check_expression_without_node_ids_skips_step_references():
    assert check_expression("steps.anything.x > 1") is None


@pytest.mark.parametrize("kind", ["template", "expression"])
def test_subscript_step_reference_to_unknown_node(kind):
    if kind == "template":
        assert check_template("{{ steps['ghost'].label }}", {"intent"}) is not None
    else:
        assert check_expression("steps['ghost'].label == 'x'", {"intent"}) is not None


def test_conditions_cannot_change_run_data(data):
    before = copy.deepcopy(data)
    with pytest.raises(ExpressionError):
        evaluate("item.update({'amount': 0}) or item.tags.append('x')", data)
    assert data == before
