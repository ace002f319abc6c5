"""What changed between two versions of a workflow: nodes, edges, parameters, the item
schema and the workflow's own fields, each change named so a person can read it.

Positions on the canvas are layout, not behaviour: they are compared separately
(``layout_only``) so a save that only moved nodes can say so instead of publishing a
version that runs exactly like the last one.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from runtime.spec import EdgeSpec, NodeSpec, WorkflowSpec

Kind = Literal["added", "removed", "changed"]
_MISSING = object()


class Change(BaseModel):
    """One value that differs: ``path`` names it (``params.threshold``, ``input.amount``)."""

    path: str
    kind: Kind
    before: Any = None
    after: Any = None

    def describe(self) -> str:
        """One line: ``params.threshold: 0.8 -> 0.9``."""
        if self.kind == "added":
            return f"{self.path}: added {_show(self.after)}"
        if self.kind == "removed":
            return f"{self.path}: removed (was {_show(self.before)})"
        return f"{self.path}: {_show(self.before)} -> {_show(self.after)}"


class NodeDiff(BaseModel):
    """A node added, removed or changed (with its changed fields and parameters)."""

    id: str
    kind: Kind
    type: str
    changes: list[Change] = Field(default_factory=list)


class EdgeDiff(BaseModel):
    """An edge added or removed (an edge's identity is its source, branch and target)."""

    source: str
    target: str
    branch: str | None
    kind: Literal["added", "removed"]

    def describe(self) -> str:
        """``a --approved--> b``."""
        return f"{self.source} --{self.branch or 'next'}--> {self.target}"


class WorkflowDiff(BaseModel):
    """Every difference between ``before`` and ``after`` (two versions of one workflow)."""

    workflow: list[Change] = Field(default_factory=list)
    input: list[Change] = Field(default_factory=list)
    nodes: list[NodeDiff] = Field(default_factory=list)
    edges: list[EdgeDiff] = Field(default_factory=list)
    moved: list[str] = Field(default_factory=list, description="Nodes whose position changed.")

    @property
    def same_behaviour(self) -> bool:
        """True when the two versions run identically (only positions may differ)."""
        return not (self.workflow or self.input or self.nodes or self.edges)

    @property
    def layout_only(self) -> bool:
        """True when only canvas positions changed."""
        return self.same_behaviour and bool(self.moved)

    def summary(self) -> str:
        """A short count, e.g. ``1 node added, 2 changed, 1 edge removed``."""
        parts = []
        for kind in ("added", "removed", "changed"):
            n = sum(1 for d in self.nodes if d.kind == kind)
            if n:
                parts.append(f"{n} node{'s' if n > 1 else ''} {kind}")
        for kind in ("added", "removed"):
            n = sum(1 for d in self.edges if d.kind == kind)
            if n:
                parts.append(f"{n} edge{'s' if n > 1 else ''} {kind}")
        if self.input:
            parts.append(f"{len(self.input)} item field change{'s' if len(self.input) > 1 else ''}")
        if self.workflow:
            parts.append(", ".join(c.path for c in self.workflow) + " changed")
        if not parts:
            return "only node positions changed" if self.moved else "no changes"
        return ", ".join(parts)

    def lines(self) -> list[str]:
        """The diff as readable lines, one per change (``+``, ``-``, ``~`` prefixes)."""
        out = [f"~ {c.describe()}" for c in self.workflow]
        out += [f"~ {c.describe()}" for c in self.input]
        for node in self.nodes:
            mark = {"added": "+", "removed": "-", "changed": "~"}[node.kind]
            out.append(f"{mark} node {node.id} ({node.type})")
            if node.kind == "changed":
                out += [f"    {c.describe()}" for c in node.changes]
        for edge in self.edges:
            out.append(f"{'+' if edge.kind == 'added' else '-'} edge {edge.describe()}")
        if self.moved:
            out.append(f"  moved: {', '.join(self.moved)}")
        return out


def diff_workflows(before: WorkflowSpec, after: WorkflowSpec) -> WorkflowDiff:
    """Compare two workflow specs, parameter by parameter."""
    result = WorkflowDiff()
    for name in ("name", "description", "max_steps"):
        a, b = getattr(before, name), getattr(after, name)
        if a != b:
            result.workflow.append(Change(path=name, kind="changed", before=a, after=b))
    result.input = _compare(
        {k: v.model_dump(exclude_defaults=True) for k, v in before.input.items()},
        {k: v.model_dump(exclude_defaults=True) for k, v in after.input.items()},
        "input",
    )
    old = {n.id: n for n in before.nodes}
    new = {n.id: n for n in after.nodes}
    for node_id, node in new.items():
        if node_id not in old:
            result.nodes.append(NodeDiff(id=node_id, kind="added", type=node.type))
    for node_id, node in old.items():
        if node_id not in new:
            result.nodes.append(NodeDiff(id=node_id, kind="removed", type=node.type))
    for node_id in [i for i in new if i in old]:
        changes = _node_changes(old[node_id], new[node_id])
        if changes:
            result.nodes.append(
                NodeDiff(id=node_id, kind="changed", type=new[node_id].type, changes=changes)
            )
        # a version stored without positions gets a layout on the canvas: not a move
        if old[node_id].position is not None and old[node_id].position != new[node_id].position:
            result.moved.append(node_id)
    old_edges, new_edges = _edge_keys(before.edges), _edge_keys(after.edges)
    for key in new_edges:
        if key not in old_edges:
            result.edges.append(EdgeDiff(source=key[0], branch=key[1], target=key[2], kind="added"))
    for key in old_edges:
        if key not in new_edges:
            result.edges.append(
                EdgeDiff(source=key[0], branch=key[1], target=key[2], kind="removed")
            )
    return result


def _node_changes(a: NodeSpec, b: NodeSpec) -> list[Change]:
    changes = []
    for name in ("type", "name", "description", "sensitive"):
        x, y = getattr(a, name), getattr(b, name)
        if x != y:
            changes.append(Change(path=name, kind="changed", before=x, after=y))
    return changes + _compare(a.params, b.params, "params")


def _compare(a: Any, b: Any, path: str) -> list[Change]:
    """Changes between two values, descending into mappings (lists compare whole)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in [*a, *(k for k in b if k not in a)]:
            x, y = a.get(key, _MISSING), b.get(key, _MISSING)
            sub = f"{path}.{key}"
            if x is _MISSING:
                out.append(Change(path=sub, kind="added", after=y))
            elif y is _MISSING:
                out.append(Change(path=sub, kind="removed", before=x))
            else:
                out += _compare(x, y, sub)
        return out
    return [] if a == b else [Change(path=path, kind="changed", before=a, after=b)]


def _edge_keys(edges: list[EdgeSpec]) -> list[tuple[str, str | None, str]]:
    seen: list[tuple[str, str | None, str]] = []
    for e in edges:
        key = (e.source, e.branch, e.target)
        if key not in seen:
            seen.append(key)
    return seen


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."
