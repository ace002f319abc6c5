"""Compile a workflow spec into a checked, runnable graph, reporting every problem at once."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from pydantic import BaseModel, ValidationError

from runtime.errors import ItemError, Problem, SpecError
from runtime.expressions import check_expression, check_template, is_template
from runtime.nodes import (
    ERROR_BRANCH,
    NodeParams,
    NodeType,
    default_branch,
    get_node_type,
    node_types,
)
from runtime.settings import OutboundPolicy, outbound_policy
from runtime.spec import InputField, NodeSpec, WorkflowSpec


@dataclass(slots=True)
class CompiledNode:
    """A node ready to run: its spec, type, parsed params and where each branch leads."""

    spec: NodeSpec
    type: NodeType
    params: NodeParams
    branches: list[str]
    next: dict[str, str] = field(default_factory=dict)
    failure: str | None = None  # the branch a failure takes (NodeType.failure_branch)

    @property
    def id(self) -> str:
        """The spec's id."""
        return self.spec.id

    @property
    def on_failure(self) -> str | None:
        """The branch a failure of this node takes: its failure branch (``error``) when
        it is connected; None when a failure fails the run (with the node's message)."""
        return self.failure if self.failure in self.next else None


@dataclass(slots=True)
class Workflow:
    """A compiled workflow: a networkx graph plus node instances.

    Attributes:
        spec: the source spec.
        version: its version in the store, once saved.
        graph: a MultiDiGraph, one edge per branch (attribute ``branch``).
        nodes: compiled nodes by id.
        trigger: the trigger node's id.
        warnings: problems that do not block running (e.g. an unguarded sensitive action).
    """

    spec: WorkflowSpec
    graph: nx.MultiDiGraph
    nodes: dict[str, CompiledNode]
    trigger: str
    warnings: list[Problem]
    version: int | None = None

    @property
    def id(self) -> str:
        """The spec's id."""
        return self.spec.id

    def next_node(self, node_id: str, branch: str | None) -> str | None:
        """Where ``branch`` of ``node_id`` leads, or None for an end."""
        node = self.nodes[node_id]
        if branch is None:
            return None
        return node.next.get(branch)

    def validate_item(self, item: Any) -> dict[str, Any]:
        """Check an item against the input schema; fill defaults; convert CSV strings.

        Raises:
            ItemError: naming every field that is missing or of the wrong type.
        """
        return validate_item(self.spec, item)


def _close(name: str, options: list[str]) -> str:
    match = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _params_problems(node: NodeSpec, ntype: NodeType) -> tuple[NodeParams | None, list[Problem]]:
    try:
        params = ntype.Params.model_validate(node.params)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"]) or None
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                known = list(ntype.Params.model_fields)
                msg = f"unknown parameter for {ntype.type_name}{_close(str(err['loc'][-1]), known)}"
            elif err["type"] == "missing":
                desc = ntype.Params.model_fields[str(err["loc"][0])].description or ""
                msg = (
                    f"required parameter is missing ({desc})"
                    if desc
                    else "required parameter is missing"
                )
            problems.append(
                Problem(message=msg, node=node.id, field=f"params.{loc}" if loc else None)
            )
        return None, problems
    return params, []


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, BaseModel):
        yield from _strings(value.model_dump())


def _expression_problems(node_id: str, params: NodeParams, node_ids: set[str]) -> list[Problem]:
    problems = []
    for name, finfo in type(params).model_fields.items():
        extra = finfo.json_schema_extra if isinstance(finfo.json_schema_extra, dict) else {}
        value = getattr(params, name)
        if extra.get("expression"):
            msg = check_expression(value, node_ids)
            if msg:
                problems.append(Problem(message=msg, node=node_id, field=f"params.{name}"))
        elif extra.get("template"):
            for text in _strings(value):
                if is_template(text):
                    msg = check_template(text, node_ids)
                    if msg:
                        problems.append(Problem(message=msg, node=node_id, field=f"params.{name}"))
    return problems


def check(
    spec: WorkflowSpec, *, policy: OutboundPolicy | None = None
) -> tuple[Workflow | None, list[Problem]]:
    """Run every check; return the workflow (None if there are errors) and all problems.

    Args:
        spec: the workflow.
        policy: the server's allow-lists nodes are checked against (what keys and URLs
            they may use); default: read from the environment
            (:func:`runtime.settings.outbound_policy`).
    """
    policy = outbound_policy() if policy is None else policy
    problems: list[Problem] = []
    nodes: dict[str, CompiledNode] = {}
    ids = [n.id for n in spec.nodes]
    node_ids = set(ids)
    seen: set[str] = set()
    for nid in ids:
        if nid in seen:
            problems.append(Problem(message="duplicate node id; ids must be unique", node=nid))
        seen.add(nid)
    if not spec.nodes:
        problems.append(Problem(message="the workflow has no nodes; add a trigger and an end"))

    known_types = list(node_types())
    for node in spec.nodes:
        ntype = get_node_type(node.type)
        if ntype is None:
            problems.append(
                Problem(
                    message=f"unknown node type {node.type!r}{_close(node.type, known_types)}; "
                    f"known types: {', '.join(known_types)}",
                    node=node.id,
                    field="type",
                )
            )
            continue
        params, pproblems = _params_problems(node, ntype)
        problems += pproblems
        if params is None:
            continue
        problems += [Problem(message=m, node=node.id) for m in ntype.check(params, node_ids)]
        problems += [
            p.model_copy(update={"node": node.id}) for p in ntype.check_outbound(params, policy)
        ]
        problems += _expression_problems(node.id, params, node_ids)
        if node.sensitive and ntype.family in ("flow", "checkpoint"):
            problems.append(
                Problem(
                    message="only actions can be marked sensitive",
                    node=node.id,
                    field="sensitive",
                    severity="warning",
                )
            )
        nodes.setdefault(
            node.id,
            CompiledNode(
                node, ntype, params, ntype.branches(params), failure=ntype.failure_branch(params)
            ),
        )

    triggers = [n.id for n in spec.nodes if n.type == "trigger"]
    if len(triggers) != 1:
        where = f" ({', '.join(triggers)})" if triggers else ""
        problems.append(
            Problem(
                message=f"a workflow needs exactly one trigger node, found {len(triggers)}{where}"
            )
        )
    ends = [n.id for n in spec.nodes if n.type == "end"]
    if spec.nodes and not ends:
        problems.append(Problem(message="the workflow has no end node; add one"))

    graph = nx.MultiDiGraph()
    graph.add_nodes_from(node_ids)
    # Every edge between existing nodes, valid or not: reachability is judged on what the
    # designer drew, so one node with bad params does not make everything after it
    # "unreachable".
    drawn = nx.DiGraph()
    drawn.add_nodes_from(node_ids)
    drawn.add_edges_from(
        (e.source, e.target) for e in spec.edges if e.source in node_ids and e.target in node_ids
    )
    # (node, branch) -> (index, label) of the edge that set it; label only if it had no branch
    drawn_at: dict[tuple[str, str], tuple[int, str | None]] = {}
    for i, edge in enumerate(spec.edges):
        label = f"edge {edge.source} -> {edge.target}"
        dangling = [x for x in (edge.source, edge.target) if x not in node_ids]
        if dangling:
            problems.append(
                Problem(
                    message=f"{label} refers to missing node(s) {', '.join(dangling)}"
                    f"{_close(dangling[0], list(node_ids))}",
                    node=edge.source if edge.source in node_ids else None,
                    field=f"edges[{i}]",
                )
            )
            continue
        if edge.target in triggers:
            problems.append(
                Problem(
                    message=f"{label}: nothing may lead into the trigger",
                    node=edge.source,
                    field=f"edges[{i}]",
                )
            )
        src = nodes.get(edge.source)
        if src is None:
            continue  # the source node already has a problem
        branch, problem = _edge_branch(src, edge.branch, edge.target, label, i, drawn_at)
        if problem is not None:
            problems.append(problem)
        if branch is None:
            continue
        src.next[branch] = edge.target
        drawn_at[(src.id, branch)] = (i, label if edge.branch is None else None)
        graph.add_edge(edge.source, edge.target, key=branch, branch=branch)

    for node in nodes.values():
        problems += _unconnected(node)

    warnings: list[Problem] = []
    if len(triggers) == 1 and triggers[0] in node_ids:
        start = triggers[0]
        reachable = nx.descendants(drawn, start) | {start}
        for nid in ids:
            if nid not in reachable:
                problems.append(
                    Problem(
                        message="unreachable from the trigger; connect it or remove it", node=nid
                    )
                )
        if ends:
            can_finish = set(ends)
            for end in ends:
                can_finish |= nx.ancestors(drawn, end)
            stuck = [nid for nid in ids if nid in reachable and nid not in can_finish]
            if stuck:
                problems.append(
                    Problem(
                        message=f"node(s) {', '.join(stuck)} can never reach an end node "
                        "(a loop with no exit?); give the loop a branch that leaves it",
                        node=stuck[0],
                    )
                )
        warnings += _unguarded_sensitive(graph, nodes, start)

    errors = [p for p in problems if p.severity == "error"]
    warnings += [p for p in problems if p.severity == "warning"]
    if errors:
        return None, errors + warnings
    wf = Workflow(spec=spec, graph=graph, nodes=nodes, trigger=triggers[0], warnings=warnings)
    return wf, warnings


def _edge_branch(
    src: CompiledNode,
    branch: str | None,
    target: str,
    label: str,
    index: int,
    drawn_at: dict[tuple[str, str], tuple[int, str | None]],
) -> tuple[str | None, Problem | None]:
    """The branch of ``src`` that edge ``index`` (to ``target``) stands for, or what is
    wrong with the edge.

    An edge without a branch leaves a node with one branch, or means ``next`` on a node
    whose branches are ``next`` and ``error``; any other node needs the edge to name one.

    Returns:
        ``(branch, None)`` for a good edge, ``(None, problem)`` for a bad one.
    """
    where = f"edges[{index}]"
    implied = branch is None
    if implied:
        branch = default_branch(src.branches)
        if branch is None and not src.branches:
            return None, Problem(
                message=f"{label}: an {src.type.type_name} node has no way out; remove the edge",
                node=src.id,
                field=where,
            )
        if branch is None:
            return None, Problem(
                message=f"{label} needs a branch: one of {', '.join(src.branches)}",
                node=src.id,
                field=where,
            )
    if branch not in src.branches:
        allowed = ", ".join(src.branches) or "none"
        return None, Problem(
            message=f"{label}: {src.type.type_name} has no branch {branch!r}; "
            f"its branches: {allowed}",
            node=src.id,
            field=where,
        )
    if branch not in src.next:
        return branch, None
    earlier = src.next[branch]
    earlier_index, earlier_unlabelled = drawn_at[(src.id, branch)]
    if earlier == target:
        return None, Problem(
            message=f"{label} repeats edges[{earlier_index}] (branch {branch!r}); "
            "remove one of them",
            node=src.id,
            field=where,
        )
    unlabelled = label if implied else earlier_unlabelled
    hint = ""
    if unlabelled and len(src.branches) > 1:
        hint = (
            f" ({unlabelled} has no branch, so it means {branch!r}; name the branch each "
            f"edge is, e.g. branch: {ERROR_BRANCH} for the path failures take)"
        )
    return None, Problem(
        message=f"branch {branch!r} leads to both {earlier} and {target}; "
        f"a branch leads to exactly one node{hint}",
        node=src.id,
        field=where,
    )


def _unconnected(node: CompiledNode) -> list[Problem]:
    """A node's branches that lead nowhere: an error, except its failure branch (``error``;
    a warning: a failure there fails the run, with the node's message, and the run can be
    retried)."""
    missing = [b for b in node.branches if b not in node.next]
    failure = node.failure
    out = []
    required = [b for b in missing if b != failure]
    if required:
        out.append(
            Problem(
                message=f"branch(es) {', '.join(required)} lead nowhere; connect each to a node "
                "(an end node if the run should stop there)",
                node=node.id,
            )
        )
    if failure is not None and failure in missing:
        out.append(
            Problem(
                message=f"branch {failure} is not connected: if this node fails, the run "
                "fails with its message (retry it with `loopgate retry RUN_ID` once the cause "
                f"is fixed); connect {failure} to a node to handle failures in the "
                "workflow instead",
                node=node.id,
                severity="warning",
            )
        )
    return out


def _unguarded_sensitive(
    graph: nx.MultiDiGraph, nodes: dict[str, CompiledNode], start: str
) -> list[Problem]:
    """Sensitive actions some item could reach without a person deciding on the way.

    Only checkpoints that stop every item guard (``NodeType.guards_with``: approval, human
    input, feedback), and only on the branches a person chooses (``person_branches``): a
    timeout branch, or a deadline that approves by default, lets an item through with
    nobody looking.
    """
    sensitive = [n for n in nodes.values() if n.spec.sensitive]
    if not sensitive:
        return []
    open_paths = nx.DiGraph()
    open_paths.add_nodes_from(graph.nodes)
    for source, target, branch in graph.edges(keys=True):
        node = nodes.get(source)
        guarded = (
            node is not None
            and node.type.guards_with(node.params)
            and branch in node.type.person_branches(node.params)
        )
        if not guarded:
            open_paths.add_edge(source, target)
    out = []
    for node in sensitive:
        if node.id in open_paths and nx.has_path(open_paths, start, node.id):
            path = nx.shortest_path(open_paths, start, node.id)
            out.append(
                Problem(
                    message="sensitive action reachable without a human checkpoint "
                    f"(path: {' -> '.join(path)}); put an approval before it",
                    node=node.id,
                    severity="warning",
                )
            )
    return out


def compile_workflow(
    spec: WorkflowSpec, *, strict: bool = False, policy: OutboundPolicy | None = None
) -> Workflow:
    """Compile a spec, raising on any error (and, with strict, on any warning).

    Args:
        spec: the workflow.
        strict: warnings are errors too.
        policy: the server's allow-lists (see :func:`check`).

    Raises:
        SpecError: listing every problem with its node id.
    """
    wf, problems = check(spec, policy=policy)
    if wf is None or (strict and problems):
        raise SpecError(problems, workflow_id=spec.id)
    return wf


# ---------------------------------------------------------------- items

_PY_TYPES = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def _coerce(name: str, spec: InputField, value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str) and spec.type in ("number", "integer", "boolean"):
        text = value.strip()
        try:
            if spec.type == "number":
                number = float(text)
                if not math.isfinite(number):
                    return value, f"expected a finite number, got {value!r}"
                return number, None
            if spec.type == "integer":
                return int(text), None
        except ValueError:
            return value, f"expected a {spec.type}, got {value!r}"
        if text.lower() in ("true", "yes", "1"):
            return True, None
        if text.lower() in ("false", "no", "0"):
            return False, None
        return value, f"expected a boolean, got {value!r}"
    ok = isinstance(value, _PY_TYPES[spec.type]) and not (
        isinstance(value, bool) and spec.type in ("number", "integer")
    )
    if not ok:
        return value, f"expected a {spec.type}, got {type(value).__name__} {value!r}"
    if isinstance(value, float) and not math.isfinite(value):
        return value, f"expected a finite number, got {value!r}"
    return value, None


def validate_item(spec: WorkflowSpec, item: Any) -> dict[str, Any]:
    """See :meth:`Workflow.validate_item`."""
    if not isinstance(item, dict):
        raise ItemError(["an item must be a JSON object"], workflow_id=spec.id)
    out = dict(item)
    problems = []
    for name, fspec in spec.input.items():
        value = item.get(name)
        if value is None or (value == "" and fspec.type != "string"):
            if fspec.required:
                problems.append(Problem(message="required field is missing", field=name))
            out[name] = fspec.default
            continue
        value, msg = _coerce(name, fspec, value)
        if msg:
            problems.append(Problem(message=msg, field=name))
            continue
        if fspec.enum is not None and value not in fspec.enum:
            problems.append(
                Problem(
                    message=f"{value!r} is not one of {', '.join(map(str, fspec.enum))}", field=name
                )
            )
            continue
        out[name] = value
    if problems:
        raise ItemError(problems, workflow_id=spec.id)
    return out
