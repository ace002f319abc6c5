"""The workflow catalog: saving versions and compiling them once per version."""

from __future__ import annotations

import threading

from runtime.compiler import Workflow, compile_workflow
from runtime.spec import WorkflowSpec, parse_spec
from runtime.store.contract import Catalog


class WorkflowCatalog:
    """Stored workflows, compiled and cached per (id, version).

    Args:
        store: Where workflow versions are kept.
    """

    def __init__(self, store: Catalog):
        self._store = store
        self._compiled: dict[tuple[str, int], Workflow] = {}
        self._lock = threading.Lock()

    def save(
        self,
        spec: WorkflowSpec,
        *,
        by: str | None = None,
        message: str | None = None,
        draft: bool = False,
    ) -> Workflow | int:
        """Store a spec as a new version (unchanged content keeps its version).

        Returns:
            The version number for a draft, else the compiled workflow.

        Raises:
            SpecError: the spec has errors and draft is False.
        """
        if draft:
            version, _ = self._store.save_workflow(
                spec.to_dict(),
                digest=spec.digest(),
                name=spec.name,
                status="draft",
                by=by,
                message=message,
            )
            return version
        wf = compile_workflow(spec)
        version, _ = self._store.save_workflow(
            spec.to_dict(),
            digest=spec.digest(),
            name=spec.name,
            status="published",
            by=by,
            message=message,
        )
        wf.version = version
        with self._lock:
            self._compiled[(spec.id, version)] = wf
        return wf

    def get(self, workflow_id: str, version: int | None = None) -> Workflow:
        """A stored, published workflow (a given version, or the newest published),
        compiled.

        Raises:
            NotFoundError: no such workflow.
            SpecError: that version is a draft with errors.
        """
        if version is not None:
            cached = self._compiled.get((workflow_id, version))
            if cached is not None:
                return cached
        row = self._store.get_workflow(workflow_id, version, published=version is None)
        key = (workflow_id, row["version"])
        cached = self._compiled.get(key)
        if cached is not None:
            return cached
        wf = compile_workflow(parse_spec(row["spec"]))
        wf.version = row["version"]
        with self._lock:
            self._compiled[key] = wf
        return wf

    def resolve(self, workflow: Workflow | WorkflowSpec | str) -> Workflow:
        """A compiled, saved workflow from an id (newest published), a spec (saved
        first) or a compiled workflow (saved first unless it has a version)."""
        if isinstance(workflow, str):
            return self.get(workflow)
        if isinstance(workflow, WorkflowSpec):
            saved = self.save(workflow)
            assert isinstance(saved, Workflow)
            return saved
        if workflow.version is None:
            saved = self.save(workflow.spec)
            assert isinstance(saved, Workflow)
            return saved
        return workflow
