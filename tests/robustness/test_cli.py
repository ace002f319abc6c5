"""Bounded bad-input cases of the command line itself (issue 12, item 5): no quiet surprises.

* A read command (``reviews``, ``runs``, ``runs show``, ``audit``, ``export``, the ``list``
  commands) never creates a database or a folder, and says where it looked.
* ``--db ""`` is an error; a file that is not a Loopgate database (another program's
  DuckDB file, a text file, a SQLite file, an empty file for a read) is refused and left
  as it was.
* ``--limit`` out of range or not a number is a one-line error naming the option.
* ``run FILE.yaml`` runs the stored version when the file is unchanged, says so when it
  publishes a new one, and with ``--no-save`` refuses a changed file naming what changed;
  a refused run publishes nothing.

Each case runs the real CLI in a forked, memory-limited child (``tests/robustness``).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from runtime.auth import add_user
from runtime.engine import Engine
from runtime.spec import loads_yaml
from runtime.store import Store
from tests.robustness.harness import Bounded, Case, Outcome, check, prepare

WORKFLOW = """\
id: corpus
name: Corpus
input:
  amount: {type: number, required: true}
nodes:
  - {id: start, type: trigger}
  - id: check
    type: approval
    params: {team: managers, instructions: "check {{ item.amount }}"}
  - {id: done, type: end}
edges:
  - {from: start, to: check}
  - {from: check, to: done, branch: approved}
  - {from: check, to: done, branch: rejected}
"""
CHANGED = WORKFLOW.replace('"check {{ item.amount }}"', '"look at {{ item.amount }}"')
GROWN = WORKFLOW.replace(
    "  - {id: done, type: end}\n", "  - {id: done, type: end}\n  - {id: spare, type: end}\n"
).replace("{from: check, to: done, branch: rejected}", "{from: check, to: spare, branch: rejected}")
NEW_ID = WORKFLOW.replace("id: corpus\n", "id: corpus-two\n", 1)
ITEM = '{"amount": 70}'


def _duckdb_file(*statements: str) -> bytes:
    """The bytes of a DuckDB database made by ``statements`` (another program's file)."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "x.duckdb")
        con = duckdb.connect(path)
        for sql in statements:
            con.execute(sql)
        con.close()
        with open(path, "rb") as fh:
            return fh.read()


FOREIGN = _duckdb_file(
    "CREATE TABLE sales (id INTEGER, amount DOUBLE)", "INSERT INTO sales VALUES (1, 2)"
)
EMPTY_DUCKDB = _duckdb_file()
SQLITE = b"SQLite format 3\x00" + b"\x00" * 84
MISSING = "no database at {dir}/nowhere/x.duckdb; pass --db FILE or set LOOPGATE_DB"


def _missing(cid: str, *argv: str) -> Case:
    """A read command on a database file that does not exist, in a folder that does not."""
    return Case(cid, (*argv, "--db", "{dir}/nowhere/x.duckdb"), ((MISSING,),))


def _limit(cid: str, value: str, line: str, *argv: str) -> Case:
    return Case(cid, (*argv, "--limit", value, "--db", "{db}"), (("--limit", line),), db=True)


RANGE = "is not in the range 1<=x<=100000"
NOT_A_NUMBER = "is not a valid integer"
LIMITED = [
    ("reviews",),
    ("runs",),
    ("audit", "list"),
    ("outbox", "list"),
    ("outbox", "send"),
]

CASES: list[Case] = [
    # ---- read commands never create a database or its folder, and say where they looked
    _missing("reviews-missing-db", "reviews"),
    _missing("runs-missing-db", "runs"),
    _missing("runs-show-missing-db", "runs", "show", "run_x"),
    _missing("audit-list-missing-db", "audit", "list"),
    _missing("audit-verify-missing-db", "audit", "verify"),
    _missing("export-missing-db", "export", "audit", "--format", "csv", "--out", "{dir}/out/a.csv"),
    _missing("workflows-list-missing-db", "workflows", "list"),
    _missing("workflows-export-missing-db", "workflows", "export", "corpus"),
    _missing("users-list-missing-db", "users", "list"),
    _missing("model-list-missing-db", "model", "list"),
    _missing("outbox-list-missing-db", "outbox", "list"),
    _missing("retry-missing-db", "retry", "run_x"),
    Case(
        "reviews-default-db-missing",
        ("reviews",),
        (("no database at {dir}/loopgate.duckdb", "pass --db FILE or set LOOPGATE_DB"),),
    ),
    Case(
        "reviews-env-db-missing",
        ("reviews",),
        (("no database at {dir}/env/lg.duckdb", "set LOOPGATE_DB"),),
    ),
    Case(
        "run-no-save-missing-db",
        ("run", "corpus", "--item", ITEM, "--no-save", "--db", "{dir}/nowhere/x.duckdb"),
        ((MISSING,),),
    ),
    # ---- --db "" is an error, for reads and writes alike
    Case("reviews-db-empty", ("reviews", "--db", ""), (('--db "" names no file',),)),
    Case("runs-db-empty-equals", ("runs", "--db="), (('--db "" names no file',),)),
    Case(
        "users-add-db-empty",
        ("users", "add", "x", "--role", "admin", "--db", ""),
        (('--db "" names no file', "$LOOPGATE_DB"),),
    ),
    Case(
        "run-db-blank",
        ("run", "{dir}/w.yaml", "--item", ITEM, "--db", "  "),
        (('--db "" names no file',),),
        files={"w.yaml": WORKFLOW},
    ),
    Case("reviews-db-is-a-folder", ("reviews", "--db", "{dir}"), (("--db", "is a directory"),)),
    # ---- files that are not a Loopgate database are refused and left as they were
    Case(
        "reviews-foreign-duckdb",
        ("reviews", "--db", "{dir}/f.duckdb"),
        (
            (
                "f.duckdb is a DuckDB database of another program",
                "it holds sales",
                "pass the Loopgate database with --db",
            ),
        ),
        files={"f.duckdb": FOREIGN},
    ),
    Case(
        "users-add-foreign-duckdb",
        ("users", "add", "x", "--role", "admin", "--db", "{dir}/f.duckdb"),
        (("f.duckdb is a DuckDB database of another program", "not Loopgate's"),),
        files={"f.duckdb": FOREIGN},
    ),
    Case(
        "run-foreign-duckdb",
        ("run", "{dir}/w.yaml", "--item", ITEM, "--db", "{dir}/f.duckdb"),
        (("f.duckdb is a DuckDB database of another program",),),
        files={"w.yaml": WORKFLOW, "f.duckdb": FOREIGN},
    ),
    Case(
        "reviews-text-file",
        ("reviews", "--db", "{dir}/notes.txt"),
        (("notes.txt is not a Loopgate database (not a DuckDB file)",),),
        files={"notes.txt": "shopping list\n"},
    ),
    Case(
        "users-add-text-file",
        ("users", "add", "x", "--role", "admin", "--db", "{dir}/n.db"),
        (("n.db is not a Loopgate database (not a DuckDB file)",),),
        files={"n.db": "not a database\n" * 4},
    ),
    Case(
        "audit-verify-sqlite-file",
        ("audit", "verify", "--db", "{dir}/s.db"),
        (("s.db is not a Loopgate database (a SQLite database)",),),
        files={"s.db": SQLITE},
    ),
    Case(
        "reviews-zero-byte-file",
        ("reviews", "--db", "{dir}/z.duckdb"),
        (("{dir}/z.duckdb is an empty file, not a Loopgate database",),),
        files={"z.duckdb": b""},
    ),
    Case(
        "runs-empty-duckdb-file",
        ("runs", "--db", "{dir}/e.duckdb"),
        (("e.duckdb is an empty DuckDB file, not a Loopgate database yet",),),
        files={"e.duckdb": EMPTY_DUCKDB},
    ),
    # ---- --limit: a clear error for each command that takes one
    *[
        _limit(f"{'-'.join(argv)}-limit-{name}", value, line, *argv)
        for argv in LIMITED
        for name, value, line in (
            ("negative", "-1", RANGE),
            ("zero", "0", RANGE),
            ("huge", "99999999999999999999", RANGE),
            ("not-a-number", "ten", NOT_A_NUMBER),
        )
    ],
    # ---- run FILE: --no-save refuses a changed file, naming what changed
    Case(
        "run-no-save-changed-file",
        ("run", "{dir}/w.yaml", "--item", ITEM, "--no-save", "--db", "{db}"),
        (
            (
                "w.yaml: it differs from the stored corpus v1",
                "node check changed (params.instructions)",
                "pass --save",
                "loopgate run corpus",
            ),
        ),
        files={"w.yaml": CHANGED},
        db=True,
    ),
    Case(
        "run-no-save-node-added",
        ("run", "{dir}/w.yaml", "--items", "{dir}/i.jsonl", "--no-save", "--db", "{db}"),
        (
            (
                "w.yaml: it differs from the stored corpus v1",
                "node spare added",
                "edges: 1 added, 1 removed",
                "pass --save",
            ),
        ),
        files={"w.yaml": GROWN, "i.jsonl": ITEM + "\n"},
        db=True,
    ),
    Case(
        "run-no-save-not-stored",
        ("run", "{dir}/w.yaml", "--item", ITEM, "--no-save", "--db", "{db}"),
        (("w.yaml: workflow corpus-two has no published version", "pass --save"),),
        files={"w.yaml": NEW_ID},
        db=True,
    ),
    # a refused run publishes nothing: not for a bad item, an operator, or a broken file
    Case(
        "run-changed-file-bad-item",
        ("run", "{dir}/w.yaml", "--item", '{"amount": "x"}', "--db", "{db}"),
        (("field amount", "expected a number"),),
        files={"w.yaml": CHANGED},
        db=True,
    ),
    Case(
        "run-changed-file-by-operator",
        ("run", "{dir}/w.yaml", "--item", ITEM, "--by", "ops", "--db", "{db}"),
        (
            (
                "w.yaml: it differs from the stored corpus v1",
                "ops may not save workflows",
                "loopgate run corpus",
            ),
        ),
        files={"w.yaml": CHANGED},
        db=True,
    ),
    Case(
        "run-changed-file-unknown-user",
        ("run", "{dir}/w.yaml", "--item", ITEM, "--by", "ghost", "--db", "{db}"),
        (("unknown user 'ghost'",),),
        files={"w.yaml": CHANGED},
        db=True,
    ),
    # ---- run FILE that succeeds: unchanged runs the stored version; changed says "saved"
    Case(
        "run-unchanged-file",
        ("run", "{dir}/w.yaml", "--item", ITEM, "--db", "{db}"),
        (),
        files={"w.yaml": WORKFLOW},
        db=True,
        code=0,
    ),
    Case(
        "run-unchanged-file-no-save",
        ("run", "{dir}/w.yaml", "--item", ITEM, "--no-save", "--db", "{db}"),
        (),
        files={"w.yaml": WORKFLOW},
        db=True,
        code=0,
    ),
    Case(
        "run-changed-file-saves",
        ("run", "{dir}/w.yaml", "--item", ITEM, "--db", "{db}"),
        (),
        files={"w.yaml": CHANGED},
        db=True,
        code=0,
    ),
    Case(
        "run-changed-file-saves-json",
        ("run", "{dir}/w.yaml", "--item", ITEM, "--json", "--db", "{db}"),
        (("note: saved {dir}/w.yaml as corpus v2", "the stored v1 differed"),),
        files={"w.yaml": CHANGED},
        db=True,
        code=0,
    ),
    Case(
        "users-add-zero-byte-file-initialises",
        ("users", "add", "x", "--role", "admin", "--db", "{dir}/z.duckdb"),
        (),
        files={"z.duckdb": b""},
        code=0,
    ),
]

ENV = {
    "reviews-default-db-missing": {"LOOPGATE_DB": ""},
    "reviews-env-db-missing": {"LOOPGATE_DB": "{dir}/env/lg.duckdb"},
}


def _versions(db: Path, workflow_id: str = "corpus") -> list[int]:
    store = Store(db)
    try:
        return sorted(v["version"] for v in store.list_workflow_versions(workflow_id))
    finally:
        store.close()


def _runs(db: Path) -> int:
    store = Store(db)
    try:
        return len(store.list_runs(limit=1000))
    finally:
        store.close()


def _nothing_created(folder: Path, out: Outcome) -> None:
    assert not (folder / "nowhere").exists()
    assert not (folder / "out").exists()
    assert not (folder / "loopgate.duckdb").exists() and not (folder / "env").exists()
    assert not list(folder.glob("**/*.duckdb")), list(folder.glob("**/*"))


def _left_alone(name: str, tables: list[str]) -> Callable[[Path, Outcome], None]:
    def after(folder: Path, out: Outcome) -> None:
        con = duckdb.connect(str(folder / name), read_only=True)
        try:
            found = sorted(
                r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
            )
        finally:
            con.close()
        assert found == tables

    return after


def _published(versions: list[int], runs: int) -> Callable[[Path, Outcome], None]:
    def after(folder: Path, out: Outcome) -> None:
        db = folder / "case.duckdb"
        assert _versions(db) == versions
        assert _runs(db) == runs

    return after


def _unchanged(folder: Path, out: Outcome) -> None:
    _published([1], 2)(folder, out)
    assert "saved" not in out.out + out.err
    assert re.search(r"run_\w+ waiting at check", out.out), out.out


def _saved(folder: Path, out: Outcome) -> None:
    _published([1, 2], 2)(folder, out)
    first = out.out.splitlines()[0]
    assert (
        first
        == f"saved {folder}/w.yaml as corpus v2, the published version (the stored v1 differed)"
    )


def _saved_json(folder: Path, out: Outcome) -> None:
    _published([1, 2], 2)(folder, out)
    [result] = [json.loads(line) for line in out.out.splitlines()]
    assert (result["workflow_id"], result["workflow_version"]) == ("corpus", 2)


def _still_empty(folder: Path, out: Outcome) -> None:
    assert (folder / "z.duckdb").stat().st_size == 0
    assert not (folder / "z.duckdb.wal").exists()


def _not_stored(folder: Path, out: Outcome) -> None:
    assert _versions(folder / "case.duckdb", "corpus-two") == []
    assert _runs(folder / "case.duckdb") == 1


def _initialised(folder: Path, out: Outcome) -> None:
    assert "user x added" in out.out
    store = Store(folder / "z.duckdb")
    try:
        assert store.get_user("x")["roles"] == ["admin"]
    finally:
        store.close()


AFTER: dict[str, Callable[[Path, Outcome], None]] = {
    **{c.id: _nothing_created for c in CASES if c.id.endswith("-missing") or "-missing-db" in c.id},
    "reviews-foreign-duckdb": _left_alone("f.duckdb", ["sales"]),
    "users-add-foreign-duckdb": _left_alone("f.duckdb", ["sales"]),
    "run-foreign-duckdb": _left_alone("f.duckdb", ["sales"]),
    "runs-empty-duckdb-file": _left_alone("e.duckdb", []),
    "reviews-zero-byte-file": _still_empty,
    "run-no-save-changed-file": _published([1], 1),
    "run-no-save-node-added": _published([1], 1),
    "run-no-save-not-stored": _not_stored,
    "run-changed-file-bad-item": _published([1], 1),
    "run-changed-file-by-operator": _published([1], 1),
    "run-changed-file-unknown-user": _published([1], 1),
    "run-unchanged-file": _unchanged,
    "run-unchanged-file-no-save": _unchanged,
    "run-changed-file-saves": _saved,
    "run-changed-file-saves-json": _saved_json,
    "users-add-zero-byte-file-initialises": _initialised,
}


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding the corpus workflow (v1), one waiting run and an operator."""
    path = tmp_path_factory.mktemp("cli-seeded") / "seed.duckdb"
    store = Store(path)
    add_user(store, "ops", roles=["operator"], teams=[])
    add_user(store, "mia", roles=["reviewer"], teams=["managers"])
    engine = Engine(store)
    wf = engine.save_workflow(loads_yaml(WORKFLOW))
    assert engine.start(wf, {"amount": 10}).status == "waiting"
    store.checkpoint()
    store.close()
    return path


def test_the_corpus_is_big_and_unique() -> None:
    assert len(CASES) >= 16
    assert len({c.id for c in CASES}) == len(CASES)
    assert set(AFTER) <= {c.id for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case(case: Case, bounded: Bounded, tmp_path: Path, seeded_db: Path) -> None:
    argv, subs = prepare(case, tmp_path, seeded_db)
    env = {k: v.replace("{dir}", str(tmp_path)) for k, v in ENV.get(case.id, {}).items()}
    outcome = bounded.run(argv, cwd=tmp_path, stdin=case.stdin, seconds=case.seconds, env=env)
    check(case, outcome, subs)
    if case.code == 1:
        assert all(line.startswith("error: ") for line in outcome.lines), outcome.err
    after = AFTER.get(case.id)
    if after is not None:
        after(tmp_path, outcome)
