"""The CLI package imports itself without cycles, and the API does not import the CLI."""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CLI = ROOT / "runtime" / "cli"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, prefix: str) -> set[str]:
    """Modules under ``prefix`` that a file imports anywhere (also inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from runtime.cli import base` names a submodule
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {m for m in found if m == prefix or m.startswith(prefix + ".")}


def _graph(package: Path, prefix: str) -> dict[str, set[str]]:
    files = {_module_name(p): p for p in package.rglob("*.py")}
    return {name: _imports(path, prefix) & set(files) - {name} for name, path in files.items()}


def test_the_cli_package_has_no_import_cycle() -> None:
    graph = _graph(CLI, "runtime.cli")
    assert {"runtime.cli.base", "runtime.cli.app", "runtime.cli.forward"} <= set(graph)
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError
    assert order.index("runtime.cli.base") < order.index("runtime.cli.app")


def test_base_imports_no_other_cli_module_and_commands_import_only_base() -> None:
    graph = _graph(CLI, "runtime.cli")
    assert graph["runtime.cli.base"] == set()
    assembly = {"runtime.cli", "runtime.cli.__main__", "runtime.cli.app", "runtime.cli.forward"}
    for name, deps in graph.items():
        if name not in assembly and name != "runtime.cli.base":
            assert deps == {"runtime.cli.base"}, f"{name} imports {sorted(deps)}"


def test_the_api_and_the_queries_do_not_import_the_cli() -> None:
    for path in [ROOT / "runtime" / "api.py", *(ROOT / "runtime" / "queries").rglob("*.py")]:
        assert not _imports(path, "runtime.cli"), path
    code = (
        "import sys, runtime.api, runtime.queries.reviews, runtime.queries.runs; "
        "print(sorted(m for m in sys.modules if m.startswith('runtime.cli')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_python_m_runtime_cli_runs_the_package() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "runtime.cli", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0 and "outbox" in out.stdout and "Traceback" not in out.stderr
