"""Issue 12 item 1 (bounded work for any workflow or item) and item 5's duplicate YAML keys,
in the bounded bad-input corpus.

Each case runs the real CLI in a forked child under an address-space limit and a time
bound (see harness.py). Workflow files that break a limit are refused by ``validate`` and
``run`` with one line naming the node and field (or the line); items that make a template
or condition break a limit at run time fail their run with that message, and the other
items of the batch still run.
"""

from __future__ import annotations

import json
import re

import pytest

from runtime.limits import MAX_YAML_BYTES
from tests.robustness.harness import Case, check, prepare

HEAD = "id: bounded\nname: Bounded\ninput:\n  note: {type: string}\n  n: {type: integer}\n"
TAIL = "  - {id: done, type: end}\nedges:\n  - {from: start, to: s}\n  - {from: s, to: done}\n"


def set_flow(template: str) -> str:
    """trigger -> set node ``s`` computing ``x`` from ``template`` -> end."""
    value = json.dumps(template)
    return f"{HEAD}nodes:\n  - {{id: start, type: trigger}}\n  - id: s\n    type: set\n" + (
        f"    params:\n      values: {{x: {value}}}\n{TAIL}"
    )


def condition_flow(when: str) -> str:
    """trigger -> condition ``s`` on ``when`` -> end on both branches."""
    return (
        f"{HEAD}nodes:\n  - {{id: start, type: trigger}}\n"
        f"  - {{id: s, type: condition, params: {{when: {json.dumps(when)}}}}}\n"
        "  - {id: done, type: end}\nedges:\n  - {from: start, to: s}\n"
        "  - {from: s, to: done, branch: 'true'}\n  - {from: s, to: done, branch: 'false'}\n"
    )


def laughs(levels: int, indent: str) -> str:
    """A billion-laughs block: ``levels`` anchors, each a list of nine aliases of the one
    before (9**levels strings), as YAML lines indented by ``indent``."""
    lines = [f'{indent}l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"{indent}l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def in_params(block: str) -> str:
    """A workflow whose set node's ``values`` hold ``block``."""
    return (
        f"{HEAD}nodes:\n  - {{id: start, type: trigger}}\n  - id: s\n    type: set\n"
        f"    params:\n      values:\n{block}{TAIL}"
    )


DUP = """\
id: dup
name: Dup
nodes:
  - {id: start, type: trigger}
  - id: check
    type: approval
    params:
      team: managers
      reason_codes: [a]
  - {id: done, type: end}
edges:
  - {from: start, to: check}
  - {from: check, to: done, branch: approved}
  - {from: check, to: done, branch: rejected}
"""


def edit(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` (which must be there) replaced once."""
    assert old in text, old
    return text.replace(old, new, 1)


def validate(name: str, text: str | bytes, *lines: tuple, seconds: float = 10.0) -> Case:
    """``validate`` on one file that must be refused with ``lines``."""
    return Case(
        f"validate-{name}",
        ("validate", f"{{dir}}/{name}.yaml"),
        tuple((f"{name}.yaml: ", *line) for line in lines),
        files={f"{name}.yaml": text},
        seconds=seconds,
    )


def run_item(name: str, text: str, item: dict, *lines: tuple) -> Case:
    """``run FILE --item JSON``: refused before the run with ``lines``, or (no lines) run."""
    return Case(
        f"run-{name}",
        ("run", "--db", "{db}", f"{{dir}}/{name}.yaml", "--item", json.dumps(item)),
        lines,
        files={f"{name}.yaml": text},
        code=1 if lines else 0,
    )


NOTE = "x" * 300
LOOPS = "{% for a in item.note %}{% for b in item.note %}{% for c in item.note %}.{% endfor %}"
LOOPS += "{% endfor %}{% endfor %}"

CASES: list[Case] = [
    # ---- YAML: aliases, size, depth
    validate(
        "billion-laughs",
        in_params(laughs(9, "        ")),
        ("line 17", "expands to more than 200,000 values through its aliases", "MAX_YAML_VALUES"),
    ),
    validate(
        "laughs-at-depth",
        in_params("        a:\n          b:\n            c:\n" + laughs(7, "              ")),
        ("line 20", "expands to more than 200,000 values", "MAX_YAML_VALUES"),
    ),
    validate(
        "laughs-in-mappings",
        in_params(
            "        m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}\n"
            + "".join(
                f"        m{i}: &m{i} {{" + ", ".join(f"k{k}: *m{i - 1}" for k in range(8)) + "}\n"
                for i in range(1, 8)
            )
        ),
        ("expands to more than 200,000 values", "MAX_YAML_VALUES"),
    ),
    validate(
        "big-file",
        in_params("        pad: " + "y" * (MAX_YAML_BYTES + 10) + "\n"),
        (re.compile(r"the file has 1,0\d\d,\d\d\d bytes"), "at most 1,048,576", "MAX_YAML_BYTES"),
    ),
    validate(
        "many-values",
        in_params("        many: [" + ",".join(["1"] * 250_000) + "]\n"),
        ("the file has more than 200,000 values", "MAX_YAML_VALUES"),
    ),
    validate(
        "deep-flow-nesting",
        in_params("        deep: " + "[" * 100_000 + "]" * 100_000 + "\n"),
        ("line 12", "nested more than 64 levels deep", "MAX_YAML_DEPTH"),
    ),
    validate(
        "deep-block-nesting",
        in_params("".join("  " * (4 + i) + f"k{i}:\n" for i in range(200)) + "  " * 204 + "v\n"),
        ("nested more than 64 levels deep", "MAX_YAML_DEPTH"),
    ),
    # ---- YAML: duplicate keys
    validate(
        "dup-top-level",
        DUP + "name: Again\n",
        ("field name: duplicate key 'name' at line 15 (first at line 2)",),
    ),
    validate(
        "dup-in-node",
        edit(DUP, "    type: approval\n", "    type: approval\n    type: end\n"),
        ("node check: field type: duplicate key 'type' at line 7 (first at line 6)",),
    ),
    validate(
        "dup-in-params",
        edit(DUP, "      team: managers\n", "      team: managers\n      team: finance\n"),
        ("node check: field params.team: duplicate key 'team' at line 9 (first at line 8)",),
    ),
    validate(
        "dup-in-edge-and-input",
        edit(
            edit(DUP, "name: Dup\n", "name: Dup\ninput:\n  a: {type: string, type: number}\n"),
            "{from: start, to: check}",
            "{from: start, to: check, to: done}",
        ),
        ("field input.a.type: duplicate key 'type' at line 4",),
        ("field edges[0].to: duplicate key 'to' at line 14",),
    ),
    # ---- templates refused by validate (their constant parts break a limit)
    validate(
        "format-width-999999999",
        set_flow("{{ '%999999999d' % 1 }}"),
        ("node s: field params.values", "width of 999999999", "MAX_FORMAT_WIDTH"),
    ),
    validate(
        "format-width-100000000",
        set_flow("{{ '%100000000d' % 1 }}"),
        ("node s: field params.values", "width of 100000000", "MAX_FORMAT_WIDTH"),
    ),
    validate(
        "str-format-width",
        set_flow("{{ '{:>999999999}'.format(item.note) }}"),
        ("node s: field params.values", "format spec '>999999999'", "MAX_FORMAT_WIDTH"),
    ),
    validate(
        "huge-pow",
        set_flow("{{ 10**1000000 }}"),
        ("node s: field params.values", "about 1,000,000 digits", "MAX_INT_DIGITS"),
    ),
    validate(
        "huge-repeat",
        set_flow("{{ 'lol' * 10**9 }}"),
        ("node s: field params.values", "3,000,000,000 characters", "MAX_TEXT"),
    ),
    validate(
        "huge-range",
        set_flow("{% for i in range(10**9) %}{{ i }}{% endfor %}"),
        ("node s: field params.values", "more than 10,000 numbers", "MAX_RANGE"),
    ),
    validate(
        "center-filter",
        set_flow("{{ 'a' | center(999999999) }}"),
        ("node s: field params.values", "center() would make 999,999,999", "MAX_TEXT"),
    ),
    validate(
        "ljust-method",
        set_flow("{{ 'x'.ljust(10**9) }}"),
        ("node s: field params.values", "ljust() would make", "MAX_TEXT"),
    ),
    validate(
        "template-500-parens",
        set_flow("{{ " + "(" * 500 + "1" + ")" * 500 + " }}"),
        ("node s: field params.values", "nested more than 32 levels", "MAX_NESTING"),
    ),
    validate(
        "template-500-blocks",
        set_flow("{% if 1 %}" * 500 + "x" + "{% endif %}" * 500),
        ("node s: field params.values", "nested more than 32 levels", "MAX_NESTING"),
    ),
    validate(
        "template-5000-filters",
        set_flow("{{ item.note" + " | upper" * 5000 + " }}"),
        ("node s: field params.values", "nested more than 32 levels", "MAX_NESTING"),
    ),
    # ---- conditions refused by validate
    validate(
        "condition-500-parens",
        condition_flow("(" * 500 + "item.n" + ")" * 500 + " > 1"),
        ("node s: field params.when", "nested more than 32 levels", "MAX_NESTING"),
    ),
    validate(
        "condition-9000-minus",
        condition_flow("-" * 9000 + "item.n > 1"),
        ("node s: field params.when", "nested more than 32 levels", "MAX_NESTING"),
    ),
    validate(
        "condition-huge-pow",
        condition_flow("item.n > 10**1000000"),
        ("node s: field params.when", "about 1,000,000 digits", "MAX_INT_DIGITS"),
    ),
    validate(
        "condition-replace-bomb",
        condition_flow("'abcdefghijklmnopqrst'.replace('', 'x' * 99999) == item.note"),
        ("node s: field params.when", "replace() would make 2,", "MAX_TEXT"),
    ),
    validate(
        "condition-fstring-width",
        condition_flow("f'{item.n:999999999}' == item.note"),
        ("node s: field params.when", "width of 999999999", "MAX_FORMAT_WIDTH"),
    ),
    validate(
        "condition-too-long",
        condition_flow("item.n == 1" + " or item.n == 1" * 1000),
        ("node s: field params.when", "15,011 characters", "MAX_EXPRESSION_CHARS"),
    ),
    # ---- run FILE --item: refused before running, or a failed run with the message
    run_item(
        "refused-before-run",
        set_flow("{{ '%999999999d' % 1 }}"),
        {"note": "a"},
        ("node s: field params.values", "MAX_FORMAT_WIDTH"),
    ),
    run_item(
        "laughs-before-run",
        in_params(laughs(9, "        ")),
        {"note": "a"},
        ("expands to more than 200,000 values", "MAX_YAML_VALUES"),
    ),
    run_item("nested-loops", set_flow(LOOPS), {"note": NOTE}),
    run_item("star-width", set_flow("{{ '%*d' % (item.n, 1) }}"), {"n": 10**9}),
    run_item("repeat-data", set_flow("{{ item.note * item.n }}"), {"note": NOTE, "n": 10**8}),
    run_item(
        "output-cap",
        set_flow("{% for i in range(10000) %}{{ item.note }}{% endfor %}"),
        {"note": NOTE},
    ),
    run_item(
        "replace-bomb-condition",
        condition_flow("item.note.replace('', item.note) == ''"),
        {"note": "x" * 5000},
    ),
    run_item(
        "doubling-in-loop",
        set_flow(
            "{% set ns = namespace(x=item.note) %}{% for i in range(64) %}"
            "{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x | length }}"
        ),
        {"note": NOTE},
    ),
    run_item(
        "int-squaring",
        set_flow(
            "{% set ns = namespace(x=item.n) %}{% for i in range(64) %}"
            "{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x > 0 }}"
        ),
        {"n": 3},
    ),
    Case(
        "run-items-one-bomb",
        ("run", "--db", "{db}", "{dir}/loops.yaml", "--items", "{dir}/items.jsonl"),
        (),
        files={
            "loops.yaml": set_flow(LOOPS),
            "items.jsonl": "".join(
                json.dumps({"note": note}) + "\n" for note in ("ab", NOTE, "abc", "a" * 40)
            ),
        },
        code=0,
    ),
]

#: What the run cases print: per case, fragments its stdout lines must hold, in order.
RUN_OUT: dict[str, list[tuple[str, ...]]] = {
    "run-nested-loops": [("failed: node s: template", "loops ran more than 100,000 times")],
    "run-star-width": [("failed: node s:", "'%*d' asks for a width of 1000000000")],
    "run-repeat-data": [("failed: node s:", "30,000,000,000 characters", "MAX_TEXT")],
    "run-output-cap": [("failed: node s:", "output is longer than 1,000,000 characters")],
    "run-replace-bomb-condition": [("failed: node s:", "replace() would make", "MAX_TEXT")],
    "run-doubling-in-loop": [("failed: node s:", "would make", "MAX_TEXT")],
    "run-int-squaring": [("failed: node s:", "MAX_INT_DIGITS")],
    "run-items-one-bomb": [
        ("succeeded",),
        ("failed: node s:", "MAX_LOOP_STEPS"),
        ("succeeded",),
        ("succeeded",),
    ],
}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case(case: Case, bounded, tmp_path) -> None:
    argv, subs = prepare(case, tmp_path, None)
    outcome = bounded.run(argv, cwd=tmp_path, stdin=case.stdin, seconds=case.seconds)
    check(case, outcome, subs)
    expected = RUN_OUT.get(case.id)
    if expected is not None:
        lines = [line for line in outcome.out.splitlines() if line.startswith("run_")]
        assert len(lines) == len(expected), outcome.out
        for line, fragments in zip(lines, expected, strict=True):
            assert all(f in line for f in fragments), (fragments, line)


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 16
    run_cases = [c.id for c in CASES if c.argv[0] == "run" and not c.lines]
    assert sorted(run_cases) == sorted(RUN_OUT)
