"""Bounded work (issue 12 item 1): the limits of runtime/limits.py, the bounded Jinja
sandbox, bounded conditions, bounded YAML with duplicate keys refused, and an API start
whose template is a bomb answering at once with a clear failure."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runtime import limits
from runtime.api import create_api
from runtime.auth import issue_token
from runtime.engine import Engine
from runtime.errors import SpecError
from runtime.expressions import ExpressionError, check_expression, check_template, evaluate, render
from runtime.limits import LimitError
from runtime.models.errors import ModelError
from runtime.models.generator import render_text
from runtime.spec import load_yaml, load_yaml_value, loads_yaml

DATA = {
    "item": {"note": "x" * 2000, "n": 10**9, "rows": list(range(1000)), "lists": [[1]] * 20_000},
    "steps": {},
}


# ---------------------------------------------------------------- limits.py


@pytest.mark.parametrize(
    ("op", "left", "right", "fragment"),
    [
        ("*", "ab", 10**6, "2,000,000 characters"),
        ("*", 10**6, [1, 2], "2,000,000 characters"),
        ("*", 10**3000, 10**3000, "multiplying would make a number of about 6,00"),
        ("**", 10, 10**6, "about 1,000,000 digits"),
        ("**", -7, 10**5, "about 84,510 digits"),
        ("+", "x" * 600_000, "y" * 600_000, "joining would make 1,200,000"),
        ("%", "%999999999d", 1, "width of 999999999"),
        ("%", "%.99999d", 1, "width of 99999"),
        ("%", "%*d", (10**9, 1), "width of 1000000000"),
        ("%", "%*d", (10**5000, 1), "width of <5001 digits>"),
        ("%", "%(a)99999s", {"a": 1}, "width of 99999"),
        ("%", "%" + "9" * 5000 + "d", 1, "width of 999999999..."),
    ],
)
def test_operators_over_the_limits_are_refused(op, left, right, fragment) -> None:
    with pytest.raises(LimitError, match="limit: MAX_") as info:
        limits.check_binop(op, left, right)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("op", "left", "right"),
    [
        ("*", "-", 80),
        ("*", [0], 10_000),
        ("*", 10**2000, 10**2000),
        ("**", 2, 64),
        ("**", 1, 10**9),
        ("**", 10, -(10**9)),
        ("**", 2.5, 3),
        ("+", "a" * 1000, "b" * 1000),
        ("%", "%10.2f %-20s %05d %%", (1.5, "x", 3)),
        ("%", "%*d", (12, 1)),
        ("%", "%(name)s is %(age)d", {"name": "a", "age": 3}),
    ],
)
def test_real_operators_pass(op, left, right) -> None:
    limits.check_binop(op, left, right)


@pytest.mark.parametrize(
    ("owner", "name", "args", "fragment"),
    [
        ("x" * 1000, "replace", ("", "y" * 1000), "replace() would make 1,002,000"),
        ("ab" * 1000, "replace", ("a", "z" * 2000), "replace() would make 2,001,000"),
        ("x", "ljust", (10**9,), "ljust() would make 1,000,000,000"),
        ("x", "center", (10**7,), "center()"),
        ("x", "zfill", (10**7,), "zfill()"),
        ("\t\t", "expandtabs", (10**6,), "expandtabs() would make 2,000,002"),
        ("x" * 1000, "join", (["a"] * 2000,), "join() would make 2,001,000"),
    ],
)
def test_amplifying_str_methods_are_refused(owner, name, args, fragment) -> None:
    with pytest.raises(LimitError, match="MAX_TEXT") as info:
        limits.check_method(owner, name, args, {})
    assert fragment in str(info.value)


def test_replace_counts_only_the_replacements_it_makes() -> None:
    limits.check_method("x" * 100_000, "replace", ("", "y" * 100, 5), {})
    limits.check_method("a,b,c", "replace", (",", ";"), {})
    limits.check_method("x" * 900_000, "upper", (), {})


def test_format_specs_and_ranges() -> None:
    limits.check_format_spec("0>10")  # fill 0, align >, width 10
    limits.check_format_spec(",.2f")
    with pytest.raises(LimitError, match="width of 99999 "):
        limits.check_format_spec("0>99999")
    limits.check_range((0, 10_000))
    with pytest.raises(LimitError, match=r"range\(10000000000000000000000,\) has more"):
        limits.check_range((10**22,))


def test_a_budget_counts_loop_steps_and_time() -> None:
    with limits.budget(), pytest.raises(LimitError, match="MAX_LOOP_STEPS"):
        for _ in range(limits.MAX_LOOP_STEPS + 1):
            limits.step()
    with limits.budget(seconds=0.0), pytest.raises(LimitError, match="MAX_RENDER_SECONDS"):
        for _ in range(256):
            limits.step()
    limits.step()  # outside a budget nothing is counted
    with limits.budget() as outer, limits.budget() as inner:
        assert inner is outer  # a nested render shares the outer budget


def test_a_budget_counts_what_operations_made() -> None:
    with limits.budget(), pytest.raises(LimitError, match="MAX_MADE"):
        for _ in range(11):
            limits.spend("x" * 999_999)
    with pytest.raises(LimitError, match="MAX_TEXT"):
        limits.spend([0] * (limits.MAX_TEXT + 1))


# ---------------------------------------------------------------- templates


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ '%100000000d' % 1 }}", "width of 100000000"),
        ("{{ '%999999999d' % item.n }}", "width of 999999999"),
        ("{{ 10**1000000 }}", "about 1,000,000 digits"),
        ("{{ 'x' * 10**9 }}", "1,000,000,000 characters"),
        ("{{ [0] * 10**8 }}", "100,000,000 characters or elements"),
        ("{{ range(10**9) | list }}", "more than 10,000 numbers"),
        ("{{ '{:>99999}'.format(item.note) }}", "format spec '>99999'"),
        ("{{ 'a' | center(10**8) }}", "center() would make 100,000,000"),
        ("{{ '%d' | format(1) }}{{ '%99999d' | format(1) }}", "width of 99999"),
        ("{{ [1] | batch(10**9, 0) | list }}", "1,000,000,000"),
        ("{{ 'x'.zfill(10**7) }}", "zfill()"),
        ("{{ " + "(" * 40 + "1" + ")" * 40 + " }}", "nested more than 32 levels"),
        ("{{ " + " + ".join(["1"] * 40) + " }}", "nested more than 32 levels"),
        ("{% for a in item.rows %}" * 40 + "{% endfor %}" * 40, "nested more than 32 levels"),
        ("{{ 1 }}" + "x" * 100_001, "100,008 characters"),
    ],
    ids=lambda value: value[:40] if isinstance(value, str) else None,
)
def test_templates_over_the_limits_are_refused_by_the_checker(template, fragment) -> None:
    problem = check_template(template, set())
    assert problem is not None and " is refused: " in problem and "limit: MAX_" in problem
    assert fragment in problem
    with pytest.raises(ExpressionError, match="limit: MAX_"):
        render(template, DATA)


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{% for a in item.note %}{% for b in item.note %}{% endfor %}{% endfor %}", "STEPS"),
        ("{{ item.note * item.n }}", "2,000,000,000,000 characters"),
        ("{{ '%*d' % (item.n, 1) }}", "width of 1000000000"),
        ("{{ '{:{w}}'.format(1, w=item.n) }}", "format spec '1000000000'"),
        ("{{ item.note.replace('', item.note) }}", "replace() would make 4,004,000"),
        ("{{ item.note | replace('', item.note) }}", "replace() would make 4,004,000"),
        ("{{ item.note | center(item.n) }}", "center()"),
        ("{{ item.note | indent(item.n) }}", "1,000,000,000"),
        ("{{ item.rows | join(item.note * 400) }}", "join() would make"),
        ("{{ item.note.join(item.rows | map('string')) }}", "join() would make"),
        ("{{ item.rows | tojson(indent=item.n) }}", "format spec '1000000000'"),
        ("{{ item.rows | slice(item.n) | list }}", "more than 10,000 numbers"),
        ("{% for i in range(1000) %}{{ item.note }}{% endfor %}", "output is longer than"),
        ("{{ item.lists | sum(start=[]) | length }}", "sum() of lists or strings of 20,000"),
        (
            "{% set ns = namespace(x=item.note) %}{% for i in range(60) %}"
            "{% set ns.x = ns.x ~ ns.x %}{% endfor %}",
            "MAX_TEXT",
        ),
        (
            "{% set ns = namespace(x=3) %}{% for i in range(60) %}"
            "{% set ns.x = ns.x * ns.x %}{% endfor %}",
            "MAX_INT_DIGITS",
        ),
    ],
)
def test_templates_that_break_a_limit_with_their_data_fail_when_rendered(
    template, fragment
) -> None:
    assert check_template(template, set()) is None
    started = time.monotonic()
    with pytest.raises(ExpressionError) as info:
        render(template, DATA)
    assert time.monotonic() - started < 2
    assert " failed: " in str(info.value) and fragment in str(info.value)
    assert "limit: MAX_" in str(info.value)


def test_a_macro_calling_itself_fails_clearly() -> None:
    with pytest.raises(ExpressionError, match="recursed or allocated too much"):
        render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", DATA)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ '%-8s|%8.2f|%05d' % ('ab', 3.14159, 42) }}", "ab      |    3.14|00042"),
        ("{{ '{:>6}|{:^7}'.format('ab', 'c') }}", "    ab|   c   "),
        ("{{ '-' * 20 }}", "-" * 20),
        ("{{ 2 ** 64 }}", 2**64),
        ("{{ 'ab' | center(6) }}", "  ab  "),
        ("{{ item.rows | length }}", 1000),
        ("{% for r in item.rows %}{{ r }},{% endfor %}", ",".join(map(str, range(1000))) + ","),
        ("{{ range(3) | join('-') }}", "0-1-2"),
        ("{{ item.rows | sum }}", sum(range(1000))),
        ("{{ [[1], [2]] | sum(start=[]) }}", [1, 2]),
        ("{{ item.rows[:3] | tojson(indent=2) }}", "[\n  0,\n  1,\n  2\n]"),
        ("{{ 'a,b'.replace(',', ';') }}", "a;b"),
        (
            "{% for a in item.rows[:200] %}{% for b in item.rows[:200] %}{% endfor %}{% endfor %}",
            "",
        ),
    ],
)
def test_real_templates_still_render(template, expected) -> None:
    assert check_template(template, set()) is None
    assert render(template, DATA) == expected


def test_output_just_under_the_cap_renders() -> None:
    text = render("{{ item.big }}{{ item.big }}", {"item": {"big": "y" * 499_999}})
    assert len(text) == 999_998


def test_the_builtin_generator_is_bounded_too() -> None:
    with pytest.raises(ModelError, match="MAX_FORMAT_WIDTH"):
        render_text("{{ '%999999999d' % 1 }}", {})
    with pytest.raises(ModelError, match="MAX_LOOP_STEPS"):
        render_text("{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}", {"s": "x" * 400})
    with pytest.raises(ModelError, match="nested more than 32"):
        render_text("{{ " + "(" * 100 + "1" + ")" * 100 + " }}", {})
    assert render_text("Dear {{ name | title }},\n", {"name": "ada"}) == "Dear Ada,\n"


# ---------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("10**1000000 > item.n", "about 1,000,000 digits"),
        ("'x' * 10**9 == item.note", "1,000,000,000 characters"),
        ("'%999999999d' % item.n == ''", "width of 999999999"),
        ("f'{item.n:999999999}' == ''", "width of 999999999"),
        ("'abcdefghij'.replace('', 'y' * 99999) == ''", "replace() would make 1,0"),
        ("(" * 40 + "item.n" + ")" * 40 + " > 1", "nested more than 32 levels"),
        ("-" * 9000 + "item.n > 1", "nested more than 32 levels"),
        ("not " * 40 + "item.n", "nested more than 32 levels"),
        ("item.n" + ".real" * 40, "nested more than 32 levels"),
        ("item.n == 1" + " or item.n == 1" * 1000, "15,011 characters"),
    ],
)
def test_conditions_over_the_limits_are_refused_by_the_checker(expression, fragment) -> None:
    problem = check_expression(expression, set())
    assert problem is not None and " is refused: " in problem and fragment in problem
    with pytest.raises(ExpressionError, match="limit: MAX_"):
        evaluate(expression, DATA)


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("item.note.replace('', item.note) == ''", "replace() would make 4,004,000"),
        ("item.note * item.n == ''", "2,000,000,000,000 characters"),
        ("item.n ** item.n > 1", "digits"),
        ("'%*d' % (item.n, 1) == ''", "width of 1000000000"),
        ("f'{1:{item.n}}' == ''", "width of 1000000000"),
    ],
)
def test_conditions_that_break_a_limit_with_their_data_fail(expression, fragment) -> None:
    assert check_expression(expression, set()) is None
    with pytest.raises(ExpressionError) as info:
        evaluate(expression, DATA)
    assert " failed: " in str(info.value) and fragment in str(info.value)


def test_real_conditions_still_evaluate() -> None:
    assert evaluate("item.n > 500 and len(item.note) == 2000", DATA) is True
    assert evaluate("item.note.replace('x', 'yy') == 'yy' * 2000", DATA) is True
    assert evaluate("'%05d' % 42 == '00042' and f'{3.14159:.2f}' == '3.14'", DATA) is True
    assert evaluate("2 ** 100 > item.n", DATA) is True


# ---------------------------------------------------------------- YAML

FLOW = """\
id: y
name: Y
nodes:
  - {id: start, type: trigger}
  - id: s
    type: set
    params:
      values: {a: 1}
  - {id: done, type: end}
edges:
  - {from: start, to: s}
  - {from: s, to: done}
"""


def test_duplicate_keys_name_the_key_the_line_and_the_node() -> None:
    text = FLOW.replace("    type: set\n", "    type: set\n    type: end\n") + "name: Z\n"
    text = text.replace("values: {a: 1}", "values: {a: 1, a: 2}")
    with pytest.raises(SpecError) as info:
        loads_yaml(text)
    got = [str(p) for p in info.value.problems]
    assert got == [
        "node s: field type: duplicate key 'type' at line 7 (first at line 6); a key may appear "
        "once in a mapping: remove or rename one",
        "node s: field params.values.a: duplicate key 'a' at line 9 (first at line 9); a key "
        "may appear once in a mapping: remove or rename one",
        "field name: duplicate key 'name' at line 14 (first at line 2); a key may appear once "
        "in a mapping: remove or rename one",
    ]


def test_anchors_aliases_and_merge_keys_in_moderation_still_load() -> None:
    text = FLOW.replace(
        "      values: {a: 1}\n",
        "      values:\n        base: &base {x: 1, y: [1, 2, 3]}\n"
        "        copy: {<<: *base, x: 2}\n        again: [*base, *base]\n",
    )
    spec = loads_yaml(text)
    values = spec.node("s").params["values"]
    assert values["copy"] == {"x": 2, "y": [1, 2, 3]} and values["again"][1]["x"] == 1


def test_yaml_bombs_are_refused_at_once() -> None:
    lines = ['l0: &l0 ["a","a","a","a","a","a","a","a","a"]'] + [
        f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)
    ]
    bomb = FLOW.replace(
        "      values: {a: 1}\n", "      values:\n" + "".join(f"        {line}\n" for line in lines)
    )
    started = time.monotonic()
    with pytest.raises(SpecError, match="expands to more than 200,000 values through its alias"):
        loads_yaml(bomb)
    with pytest.raises(SpecError, match="nested more than 64 levels"):
        loads_yaml("a: " + "[" * 100_000 + "]" * 100_000)
    with pytest.raises(SpecError, match="at most 1,048,576"):
        loads_yaml("a: " + "b" * limits.MAX_YAML_BYTES)
    assert time.monotonic() - started < 2


def test_a_yaml_value_in_a_form_field_is_bounded_too() -> None:
    assert load_yaml_value("{a: 1, b: [x, y]}") == {"a": 1, "b": ["x", "y"]}
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [" + ", ".join([f"*{p}"] * 9) + "]\n" for p, c in zip("abcdefgh", "bcdefghi")
    )
    with pytest.raises(SpecError, match="expands to more than 200,000 values"):
        load_yaml_value(bomb)
    with pytest.raises(SpecError, match="field b: duplicate key 'b' at line 2"):
        load_yaml_value("b: 1\nb: 2\n")


def test_a_file_is_read_only_up_to_the_cap(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"the file has 1,048,577 bytes; a workflow file may"):
        load_yaml("/dev/zero")  # endless: only MAX_YAML_BYTES + 1 bytes are read
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "b" * 2_000_000)
    with pytest.raises(SpecError, match=r"the file has 2,000,003 bytes"):
        load_yaml(big)


# ---------------------------------------------------------------- the API


BOMB = """\
id: bomb
name: Bomb
input:
  note: {type: string}
nodes:
  - {id: start, type: trigger}
  - id: s
    type: set
    params:
      values:
        x: "{% for a in item.note %}{% for b in item.note %}{% for c in item.note %}.{% endfor %}{% endfor %}{% endfor %}"
  - {id: done, type: end}
edges:
  - {from: start, to: s}
  - {from: s, to: done}
"""  # noqa: E501


def test_an_api_start_with_a_template_bomb_answers_at_once(engine: Engine) -> None:
    engine.save_workflow(loads_yaml(BOMB))
    client = TestClient(create_api(lambda: engine, lambda: None))
    auth = {"Authorization": f"Bearer {issue_token(engine.store, 'admin')}"}
    started = time.monotonic()
    answer = client.post("/workflows/bomb/runs", json={"item": {"note": "x" * 2000}}, headers=auth)
    assert time.monotonic() - started < 5
    assert answer.status_code == 200, answer.text
    (run,) = answer.json()["runs"]
    assert run["status"] == "failed"
    assert run["error"].startswith("node s: template '{% for a in item.note %}")
    assert "loops ran more than 100,000 times (limit: MAX_LOOP_STEPS" in run["error"]
    many = client.post(
        "/workflows/bomb/runs", json={"items": [{"note": "ab"}, {"note": "x" * 500}]}, headers=auth
    )
    statuses = [r["status"] for r in many.json()["runs"]]
    assert many.status_code == 200 and statuses == ["succeeded", "failed"]
