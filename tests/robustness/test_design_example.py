"""Bounded corpus, issue 12 item 4: branches and edges around DESIGN section 3's example.

An edge without a branch means ``next`` on a node whose branches are ``next`` and
``error``, and an unconnected ``error`` is a warning (exit 0, the warning on stderr): the
design's refund example validates. Truly ambiguous edges, edges without a branch from
nodes with other branches, and unconnected branches other than ``error`` are still
refused, each with one line naming the node (and the edge).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.robustness.harness import Bounded, Case, check, prepare
from tests.runtime.test_design_example import DESIGN_EXAMPLE

# A classifier between the trigger and two ends; each case adds the classifier's edges.
CLASSIFY = """\
id: branches
name: Branches
input:
  message: {type: string, required: true}
nodes:
  - {id: start, type: trigger}
  - id: intent
    type: ai_classify
    params: {text: "{{ item.message }}"}
  - {id: done, type: end}
  - {id: oops, type: end, params: {result: failed}}
edges:
  - {from: start, to: intent}
"""

# A checkpoint (or flow node) ``check`` of the given type and params after the trigger.
ROUTED = """\
id: routed
name: Routed
nodes:
  - {id: start, type: trigger}
  - {id: check, type: TYPE, params: PARAMS}
  - {id: done, type: end}
edges:
  - {from: start, to: check}
"""

ERROR_WARNING = "branch error is not connected: if this node fails, the run fails with its message"


def classify(*edges: str) -> str:
    """CLASSIFY with these edges (``{from: intent, ...}`` lines) added."""
    return CLASSIFY + "".join(f"  - {e}\n" for e in edges)


def lone(*edges: str) -> str:
    """``classify`` without the ``oops`` end (for cases that connect only ``next``)."""
    return classify(*edges).replace("  - {id: oops, type: end, params: {result: failed}}\n", "")


def routed(type_name: str, params: str, *edges: str) -> str:
    """ROUTED with ``check`` of this type and params, and these edges added."""
    text = ROUTED.replace("TYPE", type_name).replace("PARAMS", params)
    return text + "".join(f"  - {e}\n" for e in edges)


def validate(case_id: str, text: str, *lines: tuple, code: int = 1, strict: bool = False) -> Case:
    """A ``loopgate validate`` case on one file ``w.yaml``."""
    argv = ("validate", *(("--strict",) if strict else ()), "{dir}/w.yaml")
    return Case(case_id, argv, lines, files={"w.yaml": text}, code=code)


def warned(node: str, *more: str) -> tuple:
    """The stderr line of an unconnected error branch."""
    return ("w.yaml: warning: node " + node + ": ", ERROR_WARNING, *more)


# Every action and AI node type with next and error, chained by edges without a branch.
ACTIONS = """\
id: actions
name: Actions
input:
  message: {type: string, required: true}
nodes:
  - {id: start, type: trigger}
  - {id: intent, type: ai_classify, params: {text: "{{ item.message }}"}}
  - {id: fields, type: ai_extract, params: {text: "{{ item.message }}", fields: [amount]}}
  - {id: reply, type: ai_generate, params: {template: "Thanks: {{ item.message }}"}}
  - {id: save, type: record_write, params: {key: "{{ item.message }}"}}
  - {id: wipe, type: record_delete, params: {key: "{{ item.message }}"}}
  - {id: mail, type: notify, params: {to: ops@example.com, body: "{{ item.message }}"}}
  - {id: hook, type: webhook, params: {url: "http://127.0.0.1:9/hook"}}
  - {id: done, type: end}
edges:
  - {from: start, to: intent}
  - {from: intent, to: fields}
  - {from: fields, to: reply}
  - {from: reply, to: save}
  - {from: save, to: wipe}
  - {from: wipe, to: mail}
  - {from: mail, to: hook}
  - {from: hook, to: done}
"""

CASES: list[Case] = [
    # ---- the design's own example
    validate(
        "design-example-validates",
        DESIGN_EXAMPLE,
        warned("intent"),
        warned("refund"),
        ("w.yaml: warning: node refund: sensitive action reachable without a human checkpoint",),
        code=0,
    ),
    validate(
        "design-example-strict",
        DESIGN_EXAMPLE,
        warned("intent"),
        warned("refund"),
        ("w.yaml: warning: node refund: sensitive action",),
        strict=True,
    ),
    Case(
        "design-example-json",
        ("validate", "--json", "{dir}/w.yaml"),
        (),
        files={"w.yaml": DESIGN_EXAMPLE},
        code=0,
    ),
    Case(
        "design-example-run-fails-at-intent",
        ("run", "{dir}/w.yaml", "--item", '{"customer_id": "c1", "amount": 5}', "--db", "{db}"),
        (
            ("w.yaml: warning: node intent: ", ERROR_WARNING),
            ("w.yaml: warning: node refund: ", ERROR_WARNING),
            ("w.yaml: warning: node refund: sensitive action",),
        ),
        files={"w.yaml": DESIGN_EXAMPLE},
        code=0,
    ),
    # ---- an edge without a branch from a next/error node means next
    validate(
        "unlabelled-edge-means-next",
        classify("{from: intent, to: done}", "{from: intent, to: oops, branch: error}"),
        code=0,
    ),
    validate("unconnected-error-warns", lone("{from: intent, to: done}"), warned("intent"), code=0),
    validate(
        "unconnected-error-strict",
        lone("{from: intent, to: done}"),
        warned("intent", "loopgate retry RUN_ID"),
        strict=True,
    ),
    validate(
        "every-action-type-unlabelled",
        ACTIONS,
        *(warned(n) for n in ("intent", "fields", "reply", "save", "wipe", "mail", "hook")),
        code=0,
    ),
    Case(
        "run-fails-at-unconnected-error",
        ("run", "{dir}/w.yaml", "--item", '{"message": " "}', "--db", "{db}"),
        (warned("intent"),),
        files={"w.yaml": lone("{from: intent, to: done}")},
        code=0,
    ),
    Case(
        "run-refused-workflow-keeps-its-warning",
        ("run", "{dir}/w.yaml", "--item", '{"message": "hi"}', "--db", "{db}"),
        (
            ("error: node oops: unreachable from the trigger",),
            (re.compile(r"^warning: node intent: branch error is not connected"),),
        ),
        files={"w.yaml": classify("{from: intent, to: done}")},
    ),
    # ---- truly ambiguous edges are still refused
    validate(
        "two-unlabelled-edges",
        classify("{from: intent, to: done}", "{from: intent, to: oops}"),
        (
            "w.yaml: node intent: field edges[2]: branch 'next' leads to both done and oops",
            "(edge intent -> oops has no branch, so it means 'next'",
            "branch: error for the path failures take",
        ),
        warned("intent"),
    ),
    validate(
        "explicit-next-then-unlabelled",
        classify("{from: intent, to: done, branch: next}", "{from: intent, to: oops}"),
        (
            "node intent: field edges[2]",
            "leads to both done and oops",
            "edge intent -> oops has no",
        ),
        warned("intent"),
    ),
    validate(
        "unlabelled-then-explicit-next",
        classify("{from: intent, to: done}", "{from: intent, to: oops, branch: next}"),
        (
            "node intent: field edges[2]",
            "leads to both done and oops",
            "edge intent -> done has no",
        ),
        warned("intent"),
    ),
    validate(
        "unlabelled-repeats-explicit",
        classify(
            "{from: intent, to: done, branch: next}",
            "{from: intent, to: oops, branch: error}",
            "{from: intent, to: done}",
        ),
        ("node intent: field edges[3]", "edge intent -> done repeats edges[1] (branch 'next')"),
    ),
    validate(
        "two-unlabelled-edges-from-trigger",
        classify("{from: intent, to: done}", "{from: intent, to: oops, branch: error}")
        + "  - {from: start, to: done}\n",
        ("node start: field edges[3]", "branch 'next' leads to both intent and done"),
    ),
    # ---- an edge without a branch from a node with other branches: name the choices
    validate(
        "approval-edge-needs-branch",
        routed("approval", "{team: managers}", "{from: check, to: done}"),
        (
            "node check: field edges[1]",
            "edge check -> done needs a branch: one of approved, rejected",
        ),
        ("node check", "branch(es) approved, rejected lead nowhere"),
    ),
    validate(
        "approval-with-timeout-edge-needs-branch",
        routed(
            "approval",
            "{team: managers, deadline: 1d, on_timeout: timeout}",
            "{from: check, to: done, branch: approved}",
            "{from: check, to: done, branch: rejected}",
            "{from: check, to: done}",
        ),
        ("node check: field edges[3]", "needs a branch: one of approved, rejected, timeout"),
        ("node check", "branch(es) timeout lead nowhere"),
    ),
    validate(
        "condition-edge-needs-branch",
        routed(
            "condition",
            '{when: "true"}',
            "{from: check, to: done, branch: 'true'}",
            "{from: check, to: done}",
        ),
        ("node check: field edges[2]", "needs a branch: one of true, false"),
        ("node check", "branch(es) false lead nowhere"),
    ),
    validate(
        "switch-edge-needs-branch",
        routed("switch", '{value: "x", cases: [a, b]}', "{from: check, to: done}"),
        ("node check: field edges[1]", "needs a branch: one of a, b, default"),
        ("node check", "branch(es) a, b, default lead nowhere"),
    ),
    validate(
        "escalation-edge-needs-branch",
        routed("escalation", '{when: "true", team: finance}', "{from: check, to: done}"),
        ("node check: field edges[1]", "needs a branch: one of pass, rejected"),
        ("node check", "branch(es) pass, rejected lead nowhere"),
    ),
    # ---- unconnected branches other than a failure's error are still errors
    validate(
        "switch-case-called-error-unconnected",
        routed(
            "switch",
            '{value: "x", cases: [error, ok]}',
            "{from: check, to: done, branch: ok}",
            "{from: check, to: done, branch: default}",
        ),
        ("node check", "branch(es) error lead nowhere"),
    ),
    validate(
        "classify-next-unconnected",
        classify("{from: intent, to: oops, branch: error}") + "  - {from: oops, to: done}\n",
        ("node intent", "branch(es) next lead nowhere"),
        ("node oops: field edges[2]", "an end node has no way out"),
    ),
    validate(
        "gate-rejected-unconnected",
        classify(
            "{from: intent, to: gate}",
            "{from: intent, to: oops, branch: error}",
            "{from: gate, to: done, branch: pass}",
        ).replace(
            "  - {id: done, type: end}\n",
            "  - {id: done, type: end}\n  - {id: gate, type: confidence_gate, "
            "params: {of: intent, threshold: 0.8}}\n",
        ),
        ("node gate", "branch(es) rejected lead nowhere"),
    ),
    # ---- wrong branches and edges that cannot be
    validate(
        "classify-wrong-branch",
        classify("{from: intent, to: done}", "{from: intent, to: oops, branch: failed}"),
        (
            "node intent: field edges[2]",
            "ai_classify has no branch 'failed'; its branches: next, error",
        ),
        warned("intent"),
    ),
    validate(
        "error-edge-into-trigger",
        classify("{from: intent, to: done}", "{from: intent, to: start, branch: error}")
        + "  - {from: start, to: oops}\n",
        ("node intent: field edges[2]", "edge intent -> start: nothing may lead into the trigger"),
        ("node start: field edges[3]", "branch 'next' leads to both intent and oops"),
    ),
]

#: What stdout must hold for cases that exit 0 (a fragment per case).
STDOUT = {
    "design-example-validates": "w.yaml: ok (3 warnings)",
    "unlabelled-edge-means-next": "w.yaml: ok\n",
    "unconnected-error-warns": "w.yaml: ok (1 warning)",
    "every-action-type-unlabelled": "w.yaml: ok (7 warnings)",
    "design-example-run-fails-at-intent": " failed: node intent: the text is empty",
    "run-fails-at-unconnected-error": " failed: node intent: the text is empty",
}


def test_the_corpus_is_big_and_unique() -> None:
    assert len(CASES) >= 16
    assert len({c.id for c in CASES}) == len(CASES)
    assert set(STDOUT) <= {c.id for c in CASES if c.code == 0}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case(case: Case, bounded: Bounded, tmp_path: Path) -> None:
    argv, subs = prepare(case, tmp_path, None)
    outcome = bounded.run(argv, cwd=tmp_path, stdin=case.stdin, seconds=case.seconds)
    check(case, outcome, subs)
    if case.id in STDOUT:
        assert STDOUT[case.id] in outcome.out, outcome.out
    if case.id == "design-example-json":
        rows = [json.loads(line) for line in outcome.out.splitlines()]
        assert [r["severity"] for r in rows] == ["warning"] * 3
        assert {r["node"] for r in rows} == {"intent", "refund"}
    if case.argv[0] == "run":
        # A failed run is kept where a retry starts it again; a refused workflow saves and
        # starts nothing (not even a database).
        if case.code == 1:
            assert not Path(subs["db"]).exists()
            return
        runs = bounded.run(["runs", "--db", subs["db"]], cwd=tmp_path)
        assert runs.code == 0 and runs.lines == []
        (line,) = runs.out.splitlines()
        assert "failed at intent" in line and "node intent: the text is empty" in line
        assert "node intent: node intent" not in line  # the node is named once
