"""The engine package's shape: no import cycles, small modules and classes, docstrings."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import runtime.engine

PACKAGE = Path(runtime.engine.__file__).resolve().parent


def _modules() -> dict[str, ast.Module]:
    return {
        f"runtime.engine.{p.stem}" if p.stem != "__init__" else "runtime.engine": ast.parse(
            p.read_text()
        )
        for p in sorted(PACKAGE.glob("*.py"))
    }


def _imports(tree: ast.Module) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_the_engine_parts_import_each_other_without_cycles() -> None:
    modules = _modules()
    graph = {
        name: {dep for dep in _imports(tree) if dep in modules and dep != "runtime.engine"}
        for name, tree in modules.items()
    }
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError
    assert set(order) == set(modules)
    # Only the package's __init__ imports the facade; the parts never import it.
    assert all(
        "runtime.engine.facade" not in deps for n, deps in graph.items() if n != "runtime.engine"
    )


def test_the_stepper_and_executor_never_touch_a_store() -> None:
    modules = _modules()
    for name in ("runtime.engine.stepper", "runtime.engine.executor", "runtime.engine.feedback"):
        assert not {d for d in _imports(modules[name]) if d.startswith("runtime.store")}, name


def test_modules_and_classes_stay_small_and_documented() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        name, source = path.name, path.read_text()
        tree = ast.parse(source)
        assert len(source.splitlines()) <= 600, name
        assert ast.get_docstring(tree), name
        for node in _public_defs(tree):
            if isinstance(node, ast.ClassDef):
                assert node.end_lineno - node.lineno <= 400, f"{name}.{node.name}"
            assert ast.get_docstring(node), f"{name}.{node.name} has no docstring"


def _public_defs(tree: ast.Module) -> list[ast.ClassDef | ast.FunctionDef]:
    """Module-level classes and functions and their methods, without private ones and
    property setters."""
    out = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef) and not node.name.startswith("_"):
            out.append(node)
            if isinstance(node, ast.ClassDef):
                out += [
                    m
                    for m in node.body
                    if isinstance(m, ast.FunctionDef)
                    and not m.name.startswith("_")
                    and not any(
                        isinstance(d, ast.Attribute) and d.attr == "setter"
                        for d in m.decorator_list
                    )
                ]
    return out
