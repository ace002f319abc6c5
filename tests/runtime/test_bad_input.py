"""The bad-input corpus: broken workflows, items, decisions and CLI invocations.

Every case must exit 1 with one stderr line per problem, each line naming the file, node or
field it is about, and never a traceback. Most cases call ``runtime.cli.main`` in-process;
a few run the real CLI in a subprocess (including the locked-database case).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from runtime.auth import add_user
from runtime.cli import main
from runtime.engine import Engine
from runtime.nodes import Decision
from runtime.spec import loads_yaml
from runtime.store import Store

REPO = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------- workflows

BASE = """\
id: corpus
name: Corpus
input:
  amount: {type: number, required: true}
  kind: {type: string, enum: [a, b]}
nodes:
  - {id: start, type: trigger}
  - id: check
    type: approval
    params: {team: managers, reason_codes: [too_much, wrong], editable: [amount]}
  - {id: done, type: end}
edges:
  - {from: start, to: check}
  - {from: check, to: done, branch: approved}
  - {from: check, to: done, branch: rejected}
"""

# BASE with a condition in front of the approval.
ROUTED = """\
id: routed
name: Routed
nodes:
  - {id: start, type: trigger}
  - {id: small, type: condition, params: {when: "item.amount < 50"}}
  - {id: check, type: approval, params: {team: managers}}
  - {id: done, type: end}
edges:
  - {from: start, to: small}
  - {from: small, to: done, branch: "true"}
  - {from: small, to: check, branch: "false"}
  - {from: check, to: done, branch: approved}
  - {from: check, to: done, branch: rejected}
"""

FORM = """\
id: corpus-form
name: Corpus form
nodes:
  - {id: start, type: trigger}
  - id: ask
    type: human_input
    params:
      team: managers
      form:
        - {name: address, type: text, required: true}
        - {name: size, type: select, options: [S, M, L]}
  - {id: done, type: end}
edges:
  - {from: start, to: ask}
  - {from: ask, to: done, branch: submitted}
"""

FEEDBACK = """\
id: corpus-feedback
name: Corpus feedback
nodes:
  - {id: start, type: trigger}
  - {id: draft, type: set, params: {values: {text: hello}}}
  - {id: edit, type: feedback, params: {team: managers, show: [draft], max_revisions: 1}}
  - {id: done, type: end}
edges:
  - {from: start, to: draft}
  - {from: draft, to: edit}
  - {from: edit, to: draft, branch: revise}
  - {from: edit, to: done, branch: accepted}
"""


def edit(text: str, *pairs: tuple[str, str]) -> str:
    """text with each (old, new) replaced once; old must be there."""
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def add_nodes(text: str, nodes: str) -> str:
    return edit(text, ("edges:\n", nodes + "edges:\n"))


def add_edges(text: str, edges: str) -> str:
    return text + edges


# ---------------------------------------------------------------- cases

Line = tuple  # fragments (str or compiled regex) that one stderr line must all contain


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    lines: tuple[Line, ...]
    files: dict[str, str] = field(default_factory=dict)
    db: bool = False  # needs the seeded database (users, workflows, reviews)
    tamper: str | None = None  # SQL run on the seeded database before the command
    bug: str | None = None  # a known runtime bug: the case is a strict xfail


def validate(name: str, text: str, *lines: Line, bug: str | None = None) -> Case:
    return Case(
        f"validate-{name}",
        ("validate", f"{{dir}}/{name}.yaml"),
        lines,
        {f"{name}.yaml": text},
        bug=bug,
    )


# A sensitive delete straight after the trigger, before the approval.
SENSITIVE = (
    add_nodes(
        edit(BASE, ("{from: start, to: check}", "{from: start, to: wipe}")),
        "  - {id: wipe, type: record_delete, sensitive: true, params: {key: '{{ item.kind }}'}}\n",
    )
    + "  - {from: wipe, to: check, branch: next}\n  - {from: wipe, to: done, branch: error}\n"
)

CASES: list[Case] = [
    # ---- workflows: the file itself
    validate(
        "yaml-syntax",
        edit(BASE, ("  - {id: done, type: end}", "  - id: done: end")),
        ("yaml-syntax.yaml: ", "YAML syntax error at line 11"),
    ),
    validate("yaml-tab", "id: t\n\tname: T\n", ("yaml-tab.yaml: ", "YAML syntax error at line 2")),
    validate(
        "not-a-mapping", "- id: t\n- name: T\n", ("not-a-mapping.yaml: ", "must be a YAML mapping")
    ),
    validate("empty-file", "", ("empty-file.yaml: ", "must be a YAML mapping")),
    Case(
        "validate-missing-file", ("validate", "{dir}/nope.yaml"), (("nope.yaml: file not found",),)
    ),
    validate(
        "unknown-top-key",
        BASE + "nodez: []\n",
        ("unknown-top-key.yaml: ", "field nodez", "Extra inputs"),
    ),
    validate(
        "bad-node-id",
        edit(
            BASE,
            ("{id: done, type: end}", "{id: Done-1, type: end}"),
            ("to: done, branch: approved", "to: Done-1, branch: approved"),
        ),
        ("bad-node-id.yaml: node Done-1: field id", "pattern"),
    ),
    validate(
        "unknown-node-key",
        edit(BASE, ("{id: done, type: end}", "{id: done, typ: end}")),
        ("unknown-node-key.yaml: node done: field type", "Field required"),
        ("unknown-node-key.yaml: node done: field typ", "Extra inputs"),
    ),
    # ---- workflows: nodes
    validate(
        "unknown-node-type-unconnected",
        add_nodes(BASE, "  - {id: mystery, type: sett}\n"),
        ("node mystery: field type", "unknown node type 'sett'", "did you mean 'set'"),
        ("node mystery: unreachable",),
    ),
    validate(
        "unknown-node-type",
        edit(
            BASE,
            ("{id: done, type: end}", "{id: done, type: end}\n  - {id: x, type: wat}"),
            ("to: done, branch: rejected", "to: x, branch: rejected"),
        )
        + "  - {from: x, to: done}\n",
        ("node x: field type", "unknown node type 'wat'"),
    ),
    validate(
        "invalid-params",
        edit(ROUTED, ('params: {when: "item.amount < 50"}', "params: {}")),
        ("node small: field params.when", "required parameter is missing"),
    ),
    validate(
        "unknown-parameter",
        edit(BASE, ("{id: done, type: end}", "{id: done, type: end, params: {reslt: x}}")),
        ("node done: field params.reslt", "unknown parameter for end", "did you mean 'result'"),
    ),
    validate(
        "wrong-param-type",
        edit(BASE, ("{id: done, type: end}", "{id: done, type: end, params: {result: [x]}}")),
        ("node done: field params.result", "valid string"),
    ),
    validate(
        "duplicate-node-id",
        add_nodes(BASE, "  - {id: done, type: end}\n"),
        ("node done", "duplicate node id"),
    ),
    validate(
        "two-triggers",
        add_nodes(BASE, "  - {id: start2, type: trigger}\n") + "  - {from: start2, to: check}\n",
        ("two-triggers.yaml: ", "exactly one trigger node, found 2 (start, start2)"),
    ),
    validate(
        "no-trigger",
        edit(
            BASE, ("  - {id: start, type: trigger}\n", ""), ("  - {from: start, to: check}\n", "")
        ),
        ("no-trigger.yaml: ", "exactly one trigger node, found 0"),
    ),
    # ---- workflows: edges
    validate(
        "dangling-edge",
        add_edges(BASE, "  - {from: done, to: ghost}\n"),
        ("node done: field edges[3]", "missing node(s) ghost"),
    ),
    validate(
        "wrong-branch",
        add_edges(BASE, "  - {from: check, to: done, branch: maybe}\n"),
        ("node check: field edges[3]", "no branch 'maybe'", "approved, rejected"),
    ),
    validate(
        "edge-needs-branch",
        add_edges(BASE, "  - {from: check, to: done}\n"),
        ("node check: field edges[3]", "needs a branch: one of approved, rejected"),
    ),
    validate(
        "ambiguous-fan-out",
        add_edges(BASE, "  - {from: start, to: done}\n"),
        ("node start", "branch 'next' leads to both check and done"),
    ),
    validate(
        "unconnected-branch",
        edit(BASE, ("  - {from: check, to: done, branch: rejected}\n", "")),
        ("node check", "rejected lead nowhere"),
    ),
    validate(
        "unreachable-node",
        add_nodes(BASE, "  - {id: orphan, type: end}\n"),
        ("node orphan", "unreachable from the trigger"),
    ),
    validate(
        "loop-without-exit",
        edit(
            add_nodes(ROUTED, "  - {id: a, type: set}\n  - {id: b, type: set}\n"),
            ('to: check, branch: "false"', 'to: a, branch: "false"'),
        )
        + "  - {from: a, to: b}\n  - {from: b, to: a}\n",
        ("node a", "a, b can never reach an end node"),
        ("node check", "unreachable"),
    ),
    # ---- workflows: templates and expressions
    validate(
        "bad-template",
        edit(BASE, ("team: managers,", "team: managers, instructions: '{{ item.amount ',")),
        ("node check: field params.instructions", "template syntax error"),
    ),
    validate(
        "template-unknown-name",
        edit(BASE, ("team: managers,", "team: managers, instructions: '{{ amount }}',")),
        ("node check: field params.instructions", "unknown name(s) amount"),
    ),
    validate(
        "bad-expression",
        edit(ROUTED, ("item.amount < 50", "item.amount <")),
        ("node small: field params.when", "expression syntax error"),
    ),
    validate(
        "expression-unknown-name",
        edit(ROUTED, ("item.amount < 50", "amount < 50")),
        ("node small: field params.when", "unknown name 'amount'"),
    ),
    validate(
        "expression-private-attribute",
        edit(ROUTED, ("item.amount < 50", "item.__class__")),
        ("node small: field params.when", "private attribute '__class__'"),
    ),
    validate(
        "expression-unknown-step",
        edit(ROUTED, ("item.amount < 50", "steps.ghost.x")),
        ("node small: field params.when", "steps.ghost"),
    ),
    # ---- workflows: everything at once, and strict warnings
    validate(
        "many-problems",
        add_edges(
            add_nodes(
                edit(
                    ROUTED,
                    ("item.amount < 50", "item.amount <"),
                    (
                        "params: {team: managers}",
                        "params: {team: managers, instructions: '{{ x }}'}",
                    ),
                ),
                "  - {id: orphan, type: end}\n",
            ),
            "  - {from: done, to: ghost}\n  - {from: check, to: done, branch: maybe}\n",
        ),
        ("node small: field params.when", "syntax error"),
        ("node check: field params.instructions", "unknown name(s) x"),
        ("node done: field edges[5]", "ghost"),
        ("node check: field edges[6]", "maybe"),
        ("node orphan", "unreachable"),
    ),
    Case(
        "validate-strict-unguarded-sensitive",
        ("validate", "--strict", "{dir}/sens.yaml"),
        (
            (
                "sens.yaml: warning: node wipe",
                "sensitive action reachable without a human",
                "start -> wipe",
            ),
        ),
        {"sens.yaml": SENSITIVE},
    ),
    Case(
        "validate-several-files",
        ("validate", "{dir}/good.yaml", "{dir}/one.yaml", "{dir}/two.yaml"),
        (("one.yaml: node orphan", "unreachable"), ("two.yaml: ", "YAML syntax error")),
        {
            "good.yaml": BASE,
            "one.yaml": add_nodes(BASE, "  - {id: orphan, type: end}\n"),
            "two.yaml": "id: [\n",
        },
    ),
    # ---- items
    Case(
        "run-missing-required-field",
        ("run", "{dir}/base.yaml", "--item", "{}"),
        (("field amount", "required field is missing"),),
        {"base.yaml": BASE},
    ),
    Case(
        "run-wrong-field-type",
        ("run", "{dir}/base.yaml", "--item", '{"amount": "lots"}'),
        (("field amount", "expected a number, got 'lots'"),),
        {"base.yaml": BASE},
    ),
    Case(
        "run-bool-for-number",
        ("run", "{dir}/base.yaml", "--item", '{"amount": true}'),
        (("field amount", "expected a number"),),
        {"base.yaml": BASE},
    ),
    Case(
        "run-enum",
        ("run", "{dir}/base.yaml", "--item", '{"amount": 1, "kind": "c"}'),
        (("field kind", "'c' is not one of a, b"),),
        {"base.yaml": BASE},
    ),
    Case(
        "run-two-item-problems",
        ("run", "{dir}/base.yaml", "--item", '{"kind": "c"}'),
        (("field amount", "missing"), ("field kind", "not one of")),
        {"base.yaml": BASE},
    ),
    Case(
        "run-item-not-json",
        ("run", "{dir}/base.yaml", "--item", "{amount: 1}"),
        (("--item", "not valid JSON", "column 2"),),
        {"base.yaml": BASE},
    ),
    Case(
        "run-item-not-object",
        ("run", "{dir}/base.yaml", "--item", "[1, 2]"),
        (("--item", "must be a JSON object"),),
        {"base.yaml": BASE},
    ),
    Case(
        "run-item-and-items",
        ("run", "{dir}/base.yaml", "--item", '{"amount": 1}', "--items", "{dir}/i.jsonl"),
        (("exactly one of --item JSON or --items FILE",),),
        {"base.yaml": BASE},
    ),
    Case(
        "run-no-items",
        ("run", "{dir}/base.yaml"),
        (("exactly one of --item JSON or --items FILE",),),
        {"base.yaml": BASE},
    ),
    Case(
        "run-items-bad-json-lines",
        ("run", "{dir}/base.yaml", "--items", "{dir}/items.jsonl"),
        (("items.jsonl:2", "not valid JSON"), ("items.jsonl:4", "must be a JSON object")),
        {
            "base.yaml": BASE,
            "items.jsonl": '{"amount": 1}\n{"amount": 2,\n\n["x"]\n{"amount": 3}\n',
        },
    ),
    Case(
        "run-items-csv-not-a-number",
        ("run", "{dir}/base.yaml", "--items", "{dir}/items.csv"),
        (
            ("items.csv: item 2", "field amount", "expected a number, got 'abc'"),
            ("items.csv: item 4", "field kind", "'z' is not one of"),
        ),
        {"base.yaml": BASE, "items.csv": "amount,kind\n1,a\nabc,b\n3,\n4,z\n"},
    ),
    Case(
        "run-items-file-missing",
        ("run", "{dir}/base.yaml", "--items", "{dir}/nope.jsonl"),
        (("items file not found", "nope.jsonl"),),
        {"base.yaml": BASE},
    ),
    Case(
        "run-items-wrong-suffix",
        ("run", "{dir}/base.yaml", "--items", "{dir}/items.txt"),
        (("items.txt", "must end in .jsonl, .json or .csv"),),
        {"base.yaml": BASE, "items.txt": '{"amount": 1}\n'},
    ),
    Case(
        "run-items-json-not-a-list",
        ("run", "{dir}/base.yaml", "--items", "{dir}/items.json"),
        (("items.json", "list of objects"),),
        {"base.yaml": BASE, "items.json": '{"a": 1}'},
    ),
    Case(
        "run-missing-workflow-file",
        ("run", "{dir}/missing.yaml", "--item", "{}"),
        (("file not found", "missing.yaml"),),
    ),
    Case(
        "run-unknown-stored-workflow",
        ("run", "no-such-workflow", "--item", "{}"),
        (("workflow no-such-workflow is not in",),),
    ),
    Case(
        "run-draft-only-workflow",
        ("run", "corpus-draft", "--item", "{}"),
        (("workflow corpus-draft has no published version",),),
        db=True,
    ),
    Case(
        "run-broken-workflow",
        ("run", "{dir}/broken.yaml", "--item", '{"amount": 1}'),
        (("node check: field params.instructions", "template syntax error"),),
        {
            "broken.yaml": edit(
                BASE, ("team: managers,", "team: managers, instructions: '{{ item.amount ',")
            )
        },
    ),
    Case(
        "run-unknown-user",
        ("run", "{dir}/base.yaml", "--item", '{"amount": 1}', "--by", "ghost"),
        (("unknown user 'ghost'",),),
        {"base.yaml": BASE},
    ),
    # ---- decisions
    Case(
        "decide-unknown-review",
        ("decide", "rev_nope", "--action", "approve", "--by", "mia"),
        (("review rev_nope does not exist",),),
        db=True,
    ),
    Case(
        "decide-already-decided",
        ("decide", "{decided}", "--action", "approve", "--by", "mia"),
        (
            (
                "review {decided} was already decided by mia at",
                re.compile(r"at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
                "nothing was changed",
            ),
        ),
        db=True,
    ),
    Case(
        "decide-reject-without-reason",
        ("decide", "{pending}", "--action", "reject", "--by", "mia"),
        (("reject needs --reason, one of: too_much, wrong",),),
        db=True,
    ),
    Case(
        "decide-reason-not-in-list",
        ("decide", "{pending}", "--action", "reject", "--reason", "nope", "--by", "mia"),
        (("reason 'nope' is not one of this checkpoint's: too_much, wrong",),),
        db=True,
    ),
    Case(
        "decide-edit-not-editable",
        ("decide", "{pending}", "--action", "edit", "--data", '{"kind": "a"}', "--by", "mia"),
        (("field(s) kind may not be edited here; editable: amount",),),
        db=True,
    ),
    Case(
        "decide-edit-without-data",
        ("decide", "{pending}", "--action", "edit", "--by", "mia"),
        (("edit needs --data",),),
        db=True,
    ),
    Case(
        "decide-edit-wrong-type",
        ("decide", "{pending}", "--action", "edit", "--data", '{"amount": "lots"}', "--by", "mia"),
        (("amount", "number"),),
        db=True,
    ),
    Case(
        "decide-data-not-json",
        ("decide", "{pending}", "--action", "edit", "--data", "{amount: 5}", "--by", "mia"),
        (("--data is not valid JSON",),),
        db=True,
    ),
    Case(
        "decide-data-not-object",
        ("decide", "{pending}", "--action", "edit", "--data", "[5]", "--by", "mia"),
        (("--data must be a JSON object",),),
        db=True,
    ),
    Case(
        "decide-unknown-user",
        ("decide", "{pending}", "--action", "approve", "--by", "ghost"),
        (("unknown user 'ghost'",),),
        db=True,
    ),
    Case(
        "decide-wrong-team",
        ("decide", "{pending}", "--action", "approve", "--by", "bob"),
        (("user bob may not decide review {pending}", "team managers", "bob is in other"),),
        db=True,
    ),
    Case(
        "decide-wrong-role",
        ("decide", "{pending}", "--action", "approve", "--by", "olga"),
        (("user olga may not decide reviews", "needs role"),),
        db=True,
    ),
    Case(
        "decide-as-system",
        ("decide", "{pending}", "--action", "approve", "--by", "system"),
        (("'system' is reserved",),),
        db=True,
    ),
    Case(
        "decide-submit-on-approval",
        ("decide", "{pending}", "--action", "submit", "--data", '{"x": 1}', "--by", "mia"),
        (
            (
                "review {pending} (approval at node check) cannot take 'submit'",
                "allowed: approve, reject, edit, escalate",
            ),
        ),
        db=True,
    ),
    Case(
        "decide-escalate-without-team",
        ("decide", "{pending}", "--action", "escalate", "--by", "mia"),
        (("escalate needs a team",),),
        db=True,
    ),
    Case(
        "decide-bad-action",
        ("decide", "{pending}", "--action", "yes", "--by", "mia"),
        (("--action", "'yes' is not one of"),),
        db=True,
    ),
    Case(
        "decide-rating-out-of-range",
        ("decide", "{feedback}", "--action", "accept", "--rating", "9", "--by", "mia"),
        (("--rating", "9 is not in the range"),),
        db=True,
    ),
    Case(
        "decide-without-by",
        ("decide", "{pending}", "--action", "approve"),
        (("Missing option '--by'",),),
        db=True,
    ),
    Case(
        "decide-form-missing-field",
        ("decide", "{form}", "--action", "submit", "--data", '{"size": "M"}', "--by", "mia"),
        (("required form field(s) missing: address",),),
        db=True,
    ),
    Case(
        "decide-form-bad-option",
        (
            "decide",
            "{form}",
            "--action",
            "submit",
            "--data",
            '{"address": "x", "size": "XXL"}',
            "--by",
            "mia",
        ),
        (("field size: 'XXL' is not one of S, M, L",),),
        db=True,
    ),
    Case(
        "decide-form-unknown-field",
        (
            "decide",
            "{form}",
            "--action",
            "submit",
            "--data",
            '{"address": "x", "colour": 1}',
            "--by",
            "mia",
        ),
        (("unknown form field(s) colour",),),
        db=True,
    ),
    Case(
        "decide-approve-on-form",
        ("decide", "{form}", "--action", "approve", "--by", "mia"),
        (("cannot take 'approve'", "allowed: submit, escalate"),),
        db=True,
    ),
    Case(
        "decide-revise-without-note",
        ("decide", "{feedback}", "--action", "revise", "--rating", "2", "--by", "mia"),
        (("revise needs --note",),),
        db=True,
    ),
    Case(
        "decide-revise-past-max-revisions",
        ("decide", "{feedback_max}", "--action", "revise", "--note", "again", "--by", "mia"),
        (("cannot take 'revise'", "allowed: accept, escalate"),),
        db=True,
    ),
    # ---- runs, retry, sweep, export, audit, users
    Case(
        "retry-not-failed",
        ("retry", "{waiting_run}"),
        (("run {waiting_run} is waiting, only failed runs can be retried",),),
        db=True,
    ),
    Case("retry-unknown-run", ("retry", "run_nope"), (("run run_nope does not exist",),), db=True),
    Case(
        "runs-show-unknown",
        ("runs", "show", "run_nope"),
        (("run run_nope does not exist",),),
        db=True,
    ),
    Case("runs-bad-status", ("runs", "--status", "lost"), (("--status", "'lost'"),)),
    Case(
        "sweep-now-not-iso",
        ("sweep", "--now", "yesterday"),
        (("--now 'yesterday' is not an ISO time",),),
    ),
    Case(
        "export-unknown-kind",
        ("export", "users", "--format", "csv", "--out", "{dir}/o.csv"),
        (("'users' is not one of", "audit"),),
    ),
    Case(
        "export-unknown-format",
        ("export", "audit", "--format", "xml", "--out", "{dir}/o.xml"),
        (("--format", "'xml' is not one of"),),
    ),
    Case(
        "export-without-out", ("export", "audit", "--format", "csv"), (("Missing option '--out'",),)
    ),
    Case(
        "audit-verify-tampered",
        ("audit", "verify"),
        (("audit row 3", "altered after it was written"),),
        db=True,
        tamper="UPDATE audit_events SET actor = 'eve' WHERE seq = 3",
    ),
    Case(
        "users-add-bad-name",
        ("users", "add", "Bad Name", "--role", "reviewer"),
        (("user name 'Bad Name' must be",),),
    ),
    Case(
        "users-add-existing",
        ("users", "add", "mia", "--role", "reviewer"),
        (("user mia already exists",),),
        db=True,
    ),
    Case("unknown-command", ("frobnicate",), (("No such command 'frobnicate'",),)),
    Case("unknown-option", ("reviews", "--jsn"), (("No such option '--jsn'", "--json"),)),
]


# ---------------------------------------------------------------- the seeded database


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A database with users, the corpus workflows and reviews in every state; built once.

    Returns the file and the ids the cases refer to ({pending}, {decided}, ...).
    """
    root = tmp_path_factory.mktemp("seeded")
    path = root / "seed.duckdb"
    store = Store(path)
    add_user(store, "mia", roles=["reviewer"], teams=["managers"])
    add_user(store, "bob", roles=["reviewer"], teams=["other"])
    add_user(store, "olga", roles=["operator"], teams=["managers"])
    engine = Engine(store)
    base, form, feedback = loads_yaml(BASE), loads_yaml(FORM), loads_yaml(FEEDBACK)
    pending = engine.start(base, {"amount": 70})
    decided = engine.start(base, {"amount": 80})
    engine.decide(decided.review_id, Decision(action="approve"), by="mia")
    asked = engine.start(form, {})
    fb = engine.start(feedback, {})
    fb_max = engine.start(feedback, {})
    again = engine.decide(fb_max.review_id, Decision(action="revise", note="shorter"), by="mia")
    assert again.status == "waiting"
    engine.save_workflow(
        loads_yaml(
            add_nodes(BASE, "  - {id: orphan, type: end}\n").replace(
                "id: corpus", "id: corpus-draft"
            )
        ),
        draft=True,
    )
    ids = {
        "pending": pending.review_id,
        "waiting_run": pending.run_id,
        "decided": decided.review_id,
        "form": asked.review_id,
        "feedback": fb.review_id,
        "feedback_max": again.review_id,
    }
    store.checkpoint()
    store.close()
    return path, ids


def subst(text: str, subs: dict[str, str]) -> str:
    """Fill {name} placeholders for known names only (JSON braces stay as they are)."""
    return re.sub(r"\{(\w+)\}", lambda m: subs.get(m.group(1), m.group(0)), text)


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """The CLI in-process: exit code (0 when it returns normally), stdout, stderr."""
    capsys.readouterr()
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def check_output(case: Case, code: int, out: str, err: str, subs: dict[str, str]) -> None:
    assert "Traceback" not in out + err
    assert "internal error" not in err, err
    assert code == 1, (code, out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    expected = [
        tuple(subst(f, subs) if isinstance(f, str) else f for f in line) for line in case.lines
    ]
    assert len(lines) == len(expected), f"expected {len(expected)} line(s):\n{err}"
    unmatched = list(lines)
    for fragments in expected:
        hit = [
            ln
            for ln in unmatched
            if all((f.search(ln) if isinstance(f, re.Pattern) else f in ln) for f in fragments)
        ]
        assert hit, f"no stderr line has all of {fragments}:\n{err}"
        unmatched.remove(hit[0])
    if case.argv[0] == "validate":
        # problems are "FILE: node <id>: message", naming the file as it was given
        files = [subst(a, subs) for a in case.argv[1:] if not a.startswith("--")]
        assert all(any(line.startswith(f"{f}: ") for f in files) for line in lines), err
    else:
        assert all(line.startswith("error: ") for line in lines), err


def prepare(case: Case, tmp_path: Path, seeded) -> tuple[list[str], dict[str, str]]:
    seed_path, ids = seeded
    for name, text in case.files.items():
        (tmp_path / name).write_text(text)
    db = tmp_path / "case.duckdb"
    if case.db:
        shutil.copy(seed_path, db)
    if case.tamper:
        con = duckdb.connect(str(db))
        con.execute(case.tamper)
        con.close()
    subs = {"dir": str(tmp_path), **ids}
    argv = [subst(a, subs) for a in case.argv]
    return [*argv, "--db", str(db)], subs


def _param(case: Case):
    marks = [pytest.mark.xfail(reason=case.bug, strict=True)] if case.bug else []
    return pytest.param(case, id=case.id, marks=marks)


def test_corpus_is_big_and_unique():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input(case: Case, tmp_path, seeded, capsys):
    argv, subs = prepare(case, tmp_path, seeded)
    code, out, err = run_cli(argv, capsys)
    check_output(case, code, out, err, subs)


def test_the_seeded_reviews_were_not_changed_by_refused_decisions(tmp_path, seeded, capsys):
    """A refused decision changes nothing: the review is still pending and can be decided."""
    case = next(c for c in CASES if c.id == "decide-edit-not-editable")
    argv, subs = prepare(case, tmp_path, seeded)
    assert run_cli(argv, capsys)[0] == 1
    db = argv[argv.index("--db") + 1]
    code, out, err = run_cli(
        ["decide", subs["pending"], "--action", "approve", "--by", "mia", "--db", db], capsys
    )
    assert (code, err) == (0, "")
    assert "succeeded" in out


# ---------------------------------------------------------------- real subprocesses


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def test_validate_cases_in_one_subprocess(tmp_path):
    """The real entry point, every validate case at once: each file's lines, exit 1."""
    cases = [
        c
        for c in CASES
        if c.argv[0] == "validate" and not c.bug and not any(a.startswith("--") for a in c.argv)
    ]
    files: list[str] = []
    for case in cases:
        for name, text in case.files.items():
            (tmp_path / name).write_text(text)
        files += [subst(a, {"dir": str(tmp_path)}) for a in case.argv[1:]]
    proc = cli("validate", *files, "--db", str(tmp_path / "v.duckdb"))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert f"{tmp_path}/good.yaml: ok" in proc.stdout
    lines = proc.stderr.splitlines()
    for case in cases:
        paths = [subst(a, {"dir": str(tmp_path)}) for a in case.argv[1:]]
        for path in paths:
            mine = [ln for ln in lines if ln.startswith(f"{path}: ")]
            wanted = [
                ln for ln in case.lines if Path(path).name.split(".")[0] in ln[0] or len(paths) == 1
            ]
            assert len(mine) == len(wanted), (case.id, path, mine)
    assert len(lines) == sum(len(c.lines) for c in cases)


def test_decide_already_decided_in_a_subprocess(tmp_path, seeded):
    seed_path, ids = seeded
    db = tmp_path / "sub.duckdb"
    shutil.copy(seed_path, db)
    proc = cli(
        "decide",
        ids["decided"],
        "--action",
        "reject",
        "--reason",
        "wrong",
        "--by",
        "mia",
        "--db",
        str(db),
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    (line,) = proc.stderr.splitlines()
    assert re.fullmatch(
        rf"error: review {ids['decided']} was already decided by mia at "
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; nothing was changed",
        line,
    )


def test_csv_items_in_a_subprocess(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "items.csv").write_text("amount,kind\n1,a\n12x,b\n")
    proc = cli(
        "run",
        str(tmp_path / "base.yaml"),
        "--items",
        str(tmp_path / "items.csv"),
        "--db",
        str(tmp_path / "c.duckdb"),
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: {tmp_path}/items.csv: item 2 (line 3): field amount: expected a number, "
        "got '12x'"]
    assert "waiting at check" in proc.stdout  # the good item was started


HOLDER = textwrap.dedent("""
    import sys, time
    from runtime.store import Store
    store = Store(sys.argv[1])
    print("ready", flush=True)
    time.sleep(60)
""")


def test_locked_database(tmp_path):
    db = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert holder.stdout.readline().strip() == "ready", holder.stderr.read()
        for args in (["reviews"], ["runs", "show", "run_x"], ["audit", "verify"]):
            proc = cli(*args, "--db", str(db))
            assert proc.returncode == 1, args
            assert "Traceback" not in proc.stdout + proc.stderr
            (line,) = proc.stderr.splitlines()
            assert line.startswith("error: ")
            assert str(db) in line
            assert f"process {holder.pid}" in line
            assert "--wait" in line
    finally:
        holder.kill()
        holder.wait()
