"""A fast CLI: a command imports only what it uses (issue 12, item 6).

``loopgate --help`` and ``reviews --help`` load neither the store's libraries nor the
engine's; a read command against a store loads DuckDB but not networkx, scikit-learn,
pyarrow or the engine; commands other packages add (``serve``) are listed without being
imported. Each check runs a fresh interpreter and looks at its ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.auth import add_user
from runtime.cli.app import cli, plugin_short_help
from runtime.engine import Engine
from runtime.spec import load_yaml
from runtime.store import Store

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("sklearn", "networkx", "pyarrow", "numpy", "duckdb", "streamlit", "fastapi")
ENGINE = ("runtime.engine", "runtime.compiler", "runtime.nodes", "builder.shell.server")

_PROBE = """
import json, sys
from runtime.cli import run_args
code = run_args(json.loads(sys.argv[1]))
wanted = json.loads(sys.argv[2])
print("\\nMODULES " + json.dumps([m for m in wanted if m in sys.modules]))
sys.exit(code)
"""


def _loaded(argv: list[str], cwd: Path = ROOT) -> tuple[int, str, list[str]]:
    """Run ``loopgate ARGV`` in a fresh interpreter: exit code, output, heavy modules loaded."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(argv), json.dumps([*HEAVY, *ENGINE])],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    out, _, modules = proc.stdout.rpartition("\nMODULES ")
    return proc.returncode, out + proc.stderr, json.loads(modules)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with a waiting review, a run and audit events."""
    path = tmp_path_factory.mktemp("startup") / "s.duckdb"
    store = Store(path)
    add_user(store, "mia", roles=["reviewer"], teams=["managers"])
    engine = Engine(store)
    res = engine.start(
        load_yaml(ROOT / "examples" / "expense-approval.yaml"),
        {"employee": "bob", "amount": 120, "category": "meals"},
    )
    assert res.status == "waiting"
    store.close()
    return path


@pytest.mark.parametrize("argv", [["--help"], ["reviews", "--help"], ["runs", "--help"]])
def test_help_imports_neither_the_store_nor_the_engine(argv: list[str]) -> None:
    code, out, modules = _loaded(argv)
    assert code == 0 and "Usage: loopgate" in out
    assert modules == [], f"`loopgate {' '.join(argv)}` imported {modules}"


def test_help_lists_the_commands_other_packages_add_without_importing_them() -> None:
    code, out, modules = _loaded(["--help"])
    assert code == 0
    serve = next(line for line in out.splitlines() if line.strip().startswith("serve "))
    assert "Start the app" in serve
    assert "builder.shell.server" not in modules


@pytest.mark.parametrize(
    "argv",
    [
        ["reviews"],
        ["reviews", "--team", "managers", "--json"],
        ["runs"],
        ["audit", "list", "--limit", "5"],
        ["workflows", "list"],
        ["users", "list"],
    ],
)
def test_a_read_command_loads_duckdb_but_not_the_engine_or_the_models(
    argv: list[str], db: Path
) -> None:
    code, out, modules = _loaded([*argv, "--db", str(db)])
    assert code == 0, out
    assert modules == ["duckdb"], f"`loopgate {' '.join(argv)}` imported {modules}"


def test_reviews_shows_the_queue_from_the_lazily_opened_store(db: Path) -> None:
    code, out, _ = _loaded(["reviews", "--db", str(db)])
    assert code == 0
    assert "expense-approval/manager" in out and "team=managers" in out


def test_a_command_added_by_another_package_runs_when_asked(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "runtime.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "--port" in proc.stdout


def test_decide_offers_the_node_types_actions_once_asked() -> None:
    code, out, _ = _loaded(["decide", "rev_x", "--action", "bogus", "--by", "mia"])
    assert code == 1
    assert "Invalid value for '--action': 'bogus' is not one of" in out
    assert "'approve'" in out and "'reject'" in out


def test_plugin_short_help_reads_the_docstring_without_importing() -> None:
    assert plugin_short_help("runtime.cli.app:plugin_short_help", 80).startswith(
        "The first sentence of the docstring"
    )
    assert plugin_short_help("runtime.cli.app:no_such_function") == ""
    assert plugin_short_help("no_such_package.module:fn") == ""


def test_every_command_is_listed() -> None:
    names = set(cli.list_commands(None))  # type: ignore[arg-type]
    assert {"reviews", "runs", "run", "decide", "audit", "export", "serve", "ui"} <= names
