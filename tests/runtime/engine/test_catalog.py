"""The workflow catalog: versions saved once, compiled once per version, ids and specs resolved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runtime.compiler import Workflow, compile_workflow
from runtime.engine.catalog import WorkflowCatalog
from runtime.errors import NotFoundError, SpecError
from runtime.spec import load_yaml

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
EXPENSE = load_yaml(EXAMPLES / "expense-approval.yaml")


class Workflows:
    """A catalog store in memory, counting reads."""

    def __init__(self) -> None:
        self.versions: dict[str, list[dict[str, Any]]] = {}
        self.reads = 0

    def save_workflow(self, spec_dict, *, digest, name, status, by, message):
        rows = self.versions.setdefault(spec_dict["id"], [])
        if rows and rows[-1]["digest"] == digest and rows[-1]["status"] == status:
            return rows[-1]["version"], False
        rows.append(
            {"version": len(rows) + 1, "spec": spec_dict, "digest": digest, "status": status}
        )
        return len(rows), True

    def get_workflow(self, workflow_id, version=None, *, published=False):
        self.reads += 1
        rows = [
            r
            for r in self.versions.get(workflow_id, [])
            if not published or r["status"] == "published"
        ]
        if version is not None:
            rows = [r for r in rows if r["version"] == version]
        if not rows:
            raise NotFoundError(f"workflow {workflow_id} does not exist")
        return rows[-1]


def test_saving_compiles_and_caches_the_version() -> None:
    store = Workflows()
    catalog = WorkflowCatalog(store)
    wf = catalog.save(EXPENSE)
    assert isinstance(wf, Workflow) and wf.version == 1
    again = catalog.save(EXPENSE)
    assert again.version == 1  # unchanged content keeps its version
    assert catalog.get("expense-approval", 1) is again
    assert store.reads == 0  # a known version needs no read


def test_loading_compiles_once_per_version() -> None:
    store = Workflows()
    WorkflowCatalog(store).save(EXPENSE)
    catalog = WorkflowCatalog(store)  # a fresh cache on the same store
    first = catalog.get("expense-approval")
    assert first.version == 1 and catalog.get("expense-approval", 1) is first
    assert catalog.get("expense-approval") is first  # newest published: one read, no compile
    assert store.reads == 2


def test_a_draft_is_saved_without_compiling() -> None:
    store = Workflows()
    catalog = WorkflowCatalog(store)
    broken = EXPENSE.model_copy(update={"edges": []})
    with pytest.raises(SpecError):
        catalog.save(broken)
    assert catalog.save(broken, draft=True) == 1
    with pytest.raises(NotFoundError):
        catalog.get("expense-approval")  # no published version


def test_resolve_takes_an_id_a_spec_or_a_workflow() -> None:
    catalog = WorkflowCatalog(Workflows())
    saved = catalog.resolve(EXPENSE)
    assert saved.version == 1
    assert catalog.resolve("expense-approval") is saved
    assert catalog.resolve(saved) is saved
    unsaved = compile_workflow(EXPENSE)
    assert unsaved.version is None and catalog.resolve(unsaved).version == 1
    with pytest.raises(NotFoundError):
        catalog.resolve("nope")
