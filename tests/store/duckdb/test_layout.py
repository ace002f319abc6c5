"""The DuckDB backend's shape: small modules and classes, no import cycle, the public names."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import duckdb

import runtime.store
from runtime.store import Store, contract, open_store
from runtime.store.duckdb import DuckDBStore

PACKAGE = Path(runtime.store.__file__).parent


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        out[name] = ast.parse(path.read_text())
    return out


def test_modules_and_classes_stay_small() -> None:
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert text.count("\n") <= 600, path
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                assert node.end_lineno - node.lineno <= 400, (path, node.name)


def test_the_store_package_has_no_import_cycle() -> None:
    modules = _modules()
    graph = {}
    for name, tree in modules.items():
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in modules:
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d in modules and d != name}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError on a cycle


def test_store_is_the_duckdb_store_and_open_store_gives_the_contract(tmp_path: Path) -> None:
    assert Store is DuckDBStore
    store = open_store(tmp_path / "x.duckdb")
    assert isinstance(store, contract.Store) and isinstance(store, DuckDBStore)
    store.close()


def test_a_plain_duckdb_connection_reads_the_file(tmp_path: Path) -> None:
    """What the stock DuckDB CLI sees once no Loopgate process holds the file."""
    path = tmp_path / "cli.duckdb"
    Store(path).close()
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        assert {"runs", "reviews", "audit_events", "steps", "decisions", "current_records"} <= names
        assert con.execute("SELECT count(*) FROM decisions").fetchone() == (0,)
    finally:
        con.close()
