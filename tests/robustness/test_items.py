"""Bounded bad-input cases for item files and decision files (issue 12 items 2 and 7).

A batch survives one bad item: an item with a lone surrogate (``\\ud800``, a JSON escape
UTF-8 cannot encode) is reported with its line and every other item starts, however often
the file is run. An item file that cannot be items at all (empty, a CSV header alone, not
UTF-8) is refused naming the file and what is wrong, with nothing started. A decisions file
(`decide --file`) reports each bad or refused line and decides the others.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.robustness.harness import Bounded, Case, check, prepare, subst

WORKFLOW = """\
id: items
name: Items
input:
  amount: {type: number, required: true}
  note: {type: string}
nodes:
  - {id: start, type: trigger}
  - {id: done, type: end}
edges:
  - {from: start, to: done}
"""
SURROGATE = "\\ud800"  # as it stands in a JSON file: a backslash escape, valid JSON
LONE = "holds a lone surrogate \\ud800"
BIG = 60.0  # seconds for a case that starts 1,000 runs (about 4 s on an idle machine)


def jsonl(count: int, bad: dict[int, str] | None = None) -> str:
    """``count`` good item lines; line ``n`` of ``bad`` replaced by its text."""
    lines = [json.dumps({"amount": n, "note": f"n{n}"}) for n in range(1, count + 1)]
    for n, text in (bad or {}).items():
        lines[n - 1] = text
    return "\n".join(lines) + "\n"


def bad_note(n: int) -> str:
    return json.dumps({"amount": n, "note": "bad here"}).replace("bad", "bad " + SURROGATE)


def run_items(name: str) -> tuple[str, ...]:
    return ("run", "{dir}/w.yaml", "--items", f"{{dir}}/{name}", "--db", "{db}")


def items_case(cid: str, name: str, content: str | bytes, *lines, **kw) -> Case:
    return Case(cid, run_items(name), tuple(lines), files={"w.yaml": WORKFLOW, name: content}, **kw)


def not_utf8(name: str, *more) -> tuple:
    return (f"{{dir}}/{name} is not UTF-8", *more, "save it as UTF-8")


ITEM_CASES: list[Case] = [
    items_case(
        "jsonl-surrogate-at-line-1",
        "items.jsonl",
        jsonl(1000, {1: bad_note(1)}),
        ("items.jsonl: item 1 (line 1): field note:", LONE),
        seconds=BIG,
    ),
    items_case(
        "jsonl-surrogate-at-line-500",
        "items.jsonl",
        jsonl(1000, {500: bad_note(500)}),
        ("items.jsonl: item 500 (line 500): field note:", LONE),
        seconds=BIG,
    ),
    items_case(
        "jsonl-surrogate-at-line-1000",
        "items.jsonl",
        jsonl(1000, {1000: bad_note(1000)}),
        ("items.jsonl: item 1000 (line 1000): field note:", LONE),
        seconds=BIG,
    ),
    items_case(
        "jsonl-surrogate-after-blank-lines",
        "items.jsonl",
        '{"amount": 1}\n\n\n' + bad_note(2) + '\n{"amount": 3}\n',
        ("items.jsonl: item 2 (line 4): field note:", LONE),
    ),
    items_case(
        "jsonl-surrogate-in-a-key",
        "items.jsonl",
        '{"amount": 1}\n{"amount": 2, "x' + SURROGATE + '": 1}\n',
        ("items.jsonl: item 2 (line 2): field x\\ud800: the name", LONE),
    ),
    items_case(
        "jsonl-surrogate-deep-inside",
        "items.jsonl",
        '{"amount": 1, "meta": {"tags": ["a", "' + SURROGATE + '"]}}\n{"amount": 2}\n',
        ("items.jsonl: item 1 (line 1): field meta.tags[1]:", LONE),
    ),
    items_case(
        "jsonl-low-surrogate-and-a-bad-amount",
        "items.jsonl",
        jsonl(6, {2: '{"amount": 2, "note": "\\udfff"}', 5: '{"amount": "five"}'}),
        ("items.jsonl: item 2 (line 2): field note:", "lone surrogate \\udfff"),
        ("items.jsonl: item 5 (line 5): field amount: expected a number",),
    ),
    items_case(
        "json-array-surrogate",
        "items.json",
        '[\n  {"amount": 1},\n  {"amount": 2},\n  ' + bad_note(3) + ',\n  {"amount": 4}\n]',
        ("items.json: item 3 (line 4): field note:", LONE),
    ),
    items_case(
        "csv-encoded-surrogate-in-a-cell",
        "items.csv",
        b"amount,note\n1,fine\n2,bad \xed\xa0\x80 here\n3,fine\n",
        not_utf8("items.csv", "line 3 holds bytes ed a0 80, an encoded surrogate"),
    ),
    items_case(
        "csv-utf16-le-with-bom",
        "items.csv",
        "amount,note\n1,café\n".encode("utf-16"),
        not_utf8("items.csv", "(looks like UTF-16 LE)"),
    ),
    items_case(
        "csv-utf16-be-without-bom",
        "items.csv",
        "amount,note\n1,café\n".encode("utf-16-be"),
        not_utf8("items.csv", "(looks like UTF-16 BE)"),
    ),
    items_case(
        "csv-utf32",
        "items.csv",
        "amount,note\n1,x\n".encode("utf-32"),
        not_utf8("items.csv", "(looks like UTF-32 LE)"),
    ),
    items_case(
        "csv-latin1",
        "items.csv",
        "amount,note\n1,ok\n2,café\n".encode("latin-1"),
        not_utf8("items.csv", "line 3 has byte 0xe9", "Latin-1 / Windows-1252"),
    ),
    items_case(
        "jsonl-windows-1252",
        "items.jsonl",
        '{"amount": 1, "note": "\u201cquoted\u201d"}\n'.encode("cp1252"),
        not_utf8("items.jsonl", "line 1 has byte 0x93"),
    ),
    items_case("csv-utf8-bom-accepted", "items.csv", "\ufeffamount,note\n1,café\n2,\n", code=0),
    items_case("jsonl-utf8-bom-accepted", "items.jsonl", "\ufeff" + jsonl(3), code=0),
    items_case(
        "jsonl-empty", "items.jsonl", "", ("items.jsonl: the file is empty; put one item per line",)
    ),
    items_case(
        "jsonl-whitespace-only",
        "items.jsonl",
        "  \n\n\t\n",
        ("items.jsonl: the file is empty; put one item per line",),
    ),
    items_case(
        "jsonl-bom-only", "items.jsonl", b"\xef\xbb\xbf\n", ("items.jsonl: the file is empty",)
    ),
    items_case(
        "csv-empty",
        "items.csv",
        "",
        ("items.csv: the file is empty; put a header row, then one item per row",),
    ),
    items_case(
        "csv-header-only",
        "items.csv",
        "amount,note\n",
        ("items.csv: the file has a header row (amount, note) but no items",),
    ),
    items_case(
        "csv-header-and-blank-lines",
        "items.csv",
        "amount,note\n\n\n",
        ("items.csv: the file has a header row (amount, note) but no items",),
    ),
    items_case(
        "json-empty-list",
        "items.json",
        "[ ]",
        ("items.json: the file holds no items (an empty list)",),
    ),
    Case(
        "item-flag-surrogate",
        (
            "run",
            "{dir}/w.yaml",
            "--item",
            '{"amount": 1, "note": "' + SURROGATE + '"}',
            "--db",
            "{db}",
        ),
        (("field note:", LONE),),
        files={"w.yaml": WORKFLOW},
    ),
    Case(
        "items-file-is-a-folder",
        ("run", "{dir}/w.yaml", "--items", "{dir}", "--db", "{db}"),
        (("--items", "is a directory"),),
        files={"w.yaml": WORKFLOW},
    ),
]

#: Runs each item case must leave in its database: the items that were good all started.
STARTED = {
    "jsonl-surrogate-at-line-1": 999,
    "jsonl-surrogate-at-line-500": 999,
    "jsonl-surrogate-at-line-1000": 999,
    "jsonl-surrogate-after-blank-lines": 2,
    "jsonl-surrogate-in-a-key": 1,
    "jsonl-surrogate-deep-inside": 1,
    "jsonl-low-surrogate-and-a-bad-amount": 4,
    "json-array-surrogate": 3,
    "csv-utf8-bom-accepted": 2,
    "jsonl-utf8-bom-accepted": 3,
}


def _runs(db: Path) -> dict[str, int]:
    """The runs of a case's database by status ({} when the case made no database)."""
    if not db.exists():
        return {}
    from runtime.store import Store

    store = Store(db, read_only=True)
    try:
        return store.count_runs()
    finally:
        store.close()


@pytest.mark.parametrize("case", ITEM_CASES, ids=lambda c: c.id)
def test_item_case(case: Case, bounded: Bounded, tmp_path: Path) -> None:
    argv, subs = prepare(case, tmp_path, None)
    outcome = bounded.run(argv, cwd=tmp_path, stdin=case.stdin, seconds=case.seconds)
    check(case, outcome, subs)
    assert sum(_runs(tmp_path / "case.duckdb").values()) == STARTED.get(case.id, 0)


def test_running_the_file_again_hits_no_wall(bounded: Bounded, tmp_path: Path) -> None:
    """The same file again: the good items are not started twice, the bad one is named
    again, and the file is still one batch (no internal error on the retry)."""
    case = ITEM_CASES[1]  # the surrogate at line 500 of 1,000
    argv, subs = prepare(case, tmp_path, None)
    check(case, bounded.run(argv, cwd=tmp_path, seconds=case.seconds), subs)
    again = dataclasses.replace(
        case, lines=(*case.lines, ("note: 999 item(s) of", "were started before"))
    )
    outcome = bounded.run(argv, cwd=tmp_path, seconds=case.seconds)
    check(again, outcome, subs)
    assert outcome.out.count("succeeded") == 999
    assert _runs(tmp_path / "case.duckdb") == {"succeeded": 999}


def test_a_csv_with_a_bom_keeps_its_first_field_name(bounded: Bounded, tmp_path: Path) -> None:
    case = next(c for c in ITEM_CASES if c.id == "csv-utf8-bom-accepted")
    argv, _ = prepare(case, tmp_path, None)
    assert bounded.run([*argv, "--json"], cwd=tmp_path).code == 0
    from runtime.store import Store

    store = Store(tmp_path / "case.duckdb", read_only=True)
    try:
        rows = store.execute_readonly("SELECT item FROM runs ORDER BY created_at")
    finally:
        store.close()
    items = [json.loads(r["item"]) if isinstance(r["item"], str) else r["item"] for r in rows]
    assert sorted(i["amount"] for i in items) == [1, 2]
    assert {i["note"] for i in items} == {"café", None}


# ---------------------------------------------------------------- decisions files

REVIEWED = """\
id: reviewed
name: Reviewed
input:
  amount: {type: number, required: true}
nodes:
  - {id: start, type: trigger}
  - id: check
    type: approval
    params: {team: managers, reason_codes: [too_much]}
  - {id: done, type: end}
edges:
  - {from: start, to: check}
  - {from: check, to: done, branch: approved}
  - {from: check, to: done, branch: rejected}
"""
PENDING = 8


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A database with mia (reviewer, managers), olga (operator), reviews r1..r8 pending and
    one decided by mia; the file and the ids."""
    from runtime.auth import add_user
    from runtime.engine import Engine
    from runtime.nodes import Decision
    from runtime.spec import loads_yaml
    from runtime.store import Store

    path = tmp_path_factory.mktemp("seeded") / "seed.duckdb"
    store = Store(path)
    try:
        add_user(store, "mia", roles=["reviewer"], teams=["managers"])
        add_user(store, "olga", roles=["operator"], teams=["managers"])
        engine = Engine(store)
        wf = engine.save_workflow(loads_yaml(REVIEWED))
        runs = engine.start_many(wf, [{"amount": n} for n in range(PENDING + 1)])
        ids = {f"r{i}": r.review_id for i, r in enumerate(runs[:PENDING], start=1)}
        engine.decide(runs[PENDING].review_id, Decision(action="approve"), by="mia")
        ids["decided"] = runs[PENDING].review_id
        store.checkpoint()
    finally:
        store.close()
    return path, ids


def line(review: str, action: str = "approve", **more) -> str:
    return json.dumps({"review": f"{{{review}}}", "action": action, "by": "mia", **more})


def decide_file(cid: str, lines: list[str], *expected, name="decisions.jsonl", **kw) -> Case:
    argv = ("decide", "--file", f"{{dir}}/{name}", "--db", "{db}")
    return Case(cid, argv, tuple(expected), files={name: "\n".join(lines) + "\n"}, db=True, **kw)


def summary(applied: int, total: int, failed: int, name="decisions.jsonl") -> tuple:
    return (f"{name}: {applied} of {total} decision(s) applied; {failed} failed",)


def at(n: int, *fragments, name="decisions.jsonl") -> tuple:
    return (f"{name}: line {n}:", *fragments)


DECISION_CASES: list[Case] = [
    decide_file(
        "decisions-bad-lines",
        [
            line("r1"),
            "{not json",
            line("r2", colour="red"),
            line("r3", "yes"),
            "[1, 2]",
            line("r4"),
        ],
        summary(2, 6, 4),
        at(2, "not valid JSON"),
        at(3, "unknown field 'colour'", "review, action, by, data"),
        at(4, "field action 'yes' is not one of: approve, reject"),
        at(5, "a decision must be a JSON object"),
    ),
    decide_file(
        "decisions-already-decided",
        [line("r1"), line("decided"), line("r2")],
        summary(2, 3, 1),
        at(
            2,
            "review {decided} was already decided by mia at",
            re.compile(r"at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
        ),
    ),
    decide_file(
        "decisions-same-review-twice",
        [line("r1"), line("r2"), line("r1", "reject", reason="too_much")],
        summary(2, 3, 1),
        at(3, "review {r1} was already decided by mia"),
    ),
    decide_file(
        "decisions-refused-by-the-checkpoint",
        [
            line("r1", "reject"),
            line("r2", "reject", reason="nope"),
            line("r3"),
            line("r4", "submit", data={"x": 1}),
        ],
        summary(1, 4, 3),
        at(1, "reject needs --reason"),
        at(2, "reason 'nope' is not one of"),
        at(4, "cannot take 'submit'"),
    ),
    decide_file(
        "decisions-unknown-and-unfit-deciders",
        [
            line("r1"),
            json.dumps({"review": "{r2}", "action": "approve", "by": "ghost"}),
            json.dumps({"review": "{r3}", "action": "approve", "by": "olga"}),
            json.dumps({"review": "{r4}", "action": "approve"}),
        ],
        summary(1, 4, 3),
        at(2, "unknown user 'ghost'"),
        at(3, "user olga may not decide"),
        at(4, "field by is missing"),
    ),
    decide_file(
        "decisions-unknown-review-and-bad-fields",
        [
            json.dumps({"review": "rev_nope", "action": "approve", "by": "mia"}),
            line("r1", rating=9),
            line("r2", data=[1]),
            json.dumps({"action": "approve", "by": "mia"}),
            line("r3"),
        ],
        summary(1, 5, 4),
        at(1, "review rev_nope does not exist"),
        at(2, "field rating:", "less than or equal to 5"),
        at(3, "field data:", "dictionary"),
        at(4, "field review is missing"),
    ),
    decide_file(
        "decisions-surrogate-in-a-note",
        [line("r1"), '{"review": "{r2}", "action": "approve", "by": "mia", "note": "x\\ud800"}'],
        summary(1, 2, 1),
        at(2, "field note:", LONE),
    ),
    decide_file(
        "decisions-empty",
        ["", "   "],
        ("decisions.jsonl: the file is empty; put one decision per line",),
    ),
    Case(
        "decisions-not-utf8",
        ("decide", "--file", "{dir}/d.jsonl", "--db", "{db}"),
        (not_utf8("d.jsonl", "line 1 has byte 0xe9"),),
        files={"d.jsonl": '{"review": "x", "note": "café"}\n'.encode("latin-1")},
        db=True,
    ),
    Case(
        "decisions-file-missing",
        ("decide", "--file", "{dir}/nope.jsonl", "--db", "{db}"),
        (("decisions file not found", "nope.jsonl"),),
        db=True,
    ),
    Case(
        "decisions-stdin-with-a-bad-line",
        ("decide", "--file", "-", "--by", "mia", "--db", "{db}"),
        (
            ("stdin: 1 of 2 decision(s) applied; 1 failed",),
            ("stdin: line 2:", "field action is missing"),
        ),
        stdin='{"review": "{r1}", "action": "approve"}\n{"review": "{r2}"}\n',
        db=True,
    ),
    Case(
        "decisions-file-and-a-review-id",
        ("decide", "{r1}", "--file", "{dir}/d.jsonl", "--db", "{db}"),
        (("--file takes each decision from its lines; REVIEW_ID cannot go with it",),),
        files={"d.jsonl": "{}\n"},
        db=True,
    ),
    decide_file(
        "decisions-all-good",
        [line("r1"), line("r2", "reject", reason="too_much")],
        ("decisions.jsonl: 2 of 2 decision(s) applied",),
        code=0,
    ),
]

#: The reviews each decision case must leave decided (and only those, besides `decided`).
DECIDED: dict[str, set[str]] = {
    "decisions-bad-lines": {"r1", "r4"},
    "decisions-already-decided": {"r1", "r2"},
    "decisions-same-review-twice": {"r1", "r2"},
    "decisions-refused-by-the-checkpoint": {"r3"},
    "decisions-unknown-and-unfit-deciders": {"r1"},
    "decisions-unknown-review-and-bad-fields": {"r3"},
    "decisions-surrogate-in-a-note": {"r1"},
    "decisions-stdin-with-a-bad-line": {"r1"},
    "decisions-all-good": {"r1", "r2"},
}


def _with_ids(case: Case, ids: dict[str, str]) -> Case:
    """The case with the seeded review ids filled in (argv, files and stdin)."""
    fill: Callable[[str], str] = lambda text: subst(text, ids)  # noqa: E731
    return dataclasses.replace(
        case,
        argv=tuple(fill(a) for a in case.argv),
        files={k: fill(v) if isinstance(v, str) else v for k, v in case.files.items()},
        stdin=fill(case.stdin) if case.stdin else case.stdin,
    )


def _decided(db: Path, ids: dict[str, str]) -> set[str]:
    from runtime.store import Store

    store = Store(db, read_only=True)
    try:
        rows = store.execute_readonly("SELECT id FROM reviews WHERE status = 'decided'")
    finally:
        store.close()
    names = {v: k for k, v in ids.items()}
    return {names.get(r["id"], r["id"]) for r in rows}


@pytest.mark.parametrize("case", DECISION_CASES, ids=lambda c: c.id)
def test_decision_case(case: Case, bounded: Bounded, tmp_path: Path, seeded) -> None:
    seed_path, ids = seeded
    case = _with_ids(case, ids)
    argv, subs = prepare(case, tmp_path, seed_path)
    outcome = bounded.run(argv, cwd=tmp_path, stdin=case.stdin, seconds=case.seconds)
    check(case, outcome, {**subs, **ids})
    assert _decided(tmp_path / "case.duckdb", ids) == DECIDED.get(case.id, set()) | {"decided"}


def test_the_corpus_is_big_and_unique() -> None:
    cases = ITEM_CASES + DECISION_CASES
    assert len(cases) >= 16
    assert len({c.id for c in cases}) == len(cases)
