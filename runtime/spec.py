"""The workflow file format: pydantic models, YAML load and dump."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runtime.errors import Problem, SpecError
from runtime.limits import MAX_YAML_BYTES, MAX_YAML_DEPTH, MAX_YAML_VALUES

SCHEMA_VERSION = 1
ID_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
WORKFLOW_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"

FieldType = Literal["string", "number", "integer", "boolean", "object", "array"]


class InputField(BaseModel):
    """One field an input item carries."""

    model_config = ConfigDict(extra="forbid")

    type: FieldType = Field("string", description="The field's JSON type.")
    required: bool = Field(False, description="Items without this field are refused.")
    description: str = Field("", description="What the field holds; shown in forms.")
    default: Any = Field(None, description="Value used when an item leaves the field out.")
    enum: list[Any] | None = Field(None, description="The only values allowed, if set.")


class NodeSpec(BaseModel):
    """One node on the canvas: its id, type, parameters and flags."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN, description="Unique id; templates use steps.<id>.")
    type: str = Field(description="A registered node type, e.g. approval.")
    name: str | None = Field(None, description="A display label for the canvas.")
    description: str | None = Field(None, description="Notes for the people who read the flow.")
    params: dict[str, Any] = Field(default_factory=dict, description="The type's parameters.")
    sensitive: bool = Field(False, description="A human checkpoint must guard this action.")
    position: tuple[float, float] | None = Field(None, description="Canvas position (x, y).")


class EdgeSpec(BaseModel):
    """A connection from one node's branch to the next node."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str = Field(alias="from", description="The node the edge leaves.")
    target: str = Field(alias="to", description="The node the edge enters.")
    branch: str | None = Field(None, description="Which branch of the source this edge is.")


class WorkflowSpec(BaseModel):
    """A whole workflow as saved in YAML and in the store."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=WORKFLOW_ID_PATTERN, description="Stable id, e.g. refund-requests.")
    name: str = Field(description="Human name.")
    description: str = Field("", description="What the workflow is for.")
    schema_version: Literal[1] = Field(SCHEMA_VERSION, description="File format version.")
    input: dict[str, InputField] = Field(default_factory=dict, description="Item fields.")
    nodes: list[NodeSpec] = Field(default_factory=list)
    edges: list[EdgeSpec] = Field(default_factory=list)
    max_steps: int = Field(200, ge=1, le=100_000, description="A run fails past this many steps.")

    def node(self, node_id: str) -> NodeSpec | None:
        """The node with this id, or None."""
        return next((n for n in self.nodes if n.id == node_id), None)

    def to_dict(self) -> dict[str, Any]:
        """The file form: aliases (`from`/`to`), defaults left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)

    def to_yaml(self) -> str:
        """YAML text in the file format; `load_yaml` reads it back to an equal model."""
        data = self.to_dict()
        data.setdefault("schema_version", SCHEMA_VERSION)
        ordered = {k: data[k] for k in _KEY_ORDER if k in data}
        return yaml.dump(ordered, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096)

    def digest(self) -> str:
        """A content hash, so saving an unchanged spec does not make a new version."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


_KEY_ORDER = ["id", "name", "description", "schema_version", "max_steps", "input", "nodes", "edges"]


class _Dumper(yaml.SafeDumper):
    """Edges and positions on one line each, multi-line strings as blocks."""


def _represent_dict(dumper: yaml.SafeDumper, data: dict) -> yaml.Node:
    flow = set(data) <= {"from", "to", "branch"} and "from" in data
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


_UNSAFE_IN_BLOCKS = ("\x85", "\u2028", "\u2029", "\r")


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if any(ch in data for ch in _UNSAFE_IN_BLOCKS):
        # YAML treats these as line breaks; only a double-quoted scalar keeps them exactly.
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = len(data) <= 8 and all(
        isinstance(x, int | float | str) and len(str(x)) < 24 for x in data
    )
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow and bool(data))


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)


def _pydantic_problems(exc: ValidationError, data: Any) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = list(err["loc"])
        node = None
        if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
            try:
                node = data["nodes"][loc[1]].get("id") or f"#{loc[1] + 1}"
            except (KeyError, IndexError, TypeError, AttributeError):
                node = f"#{loc[1] + 1}"
            loc = loc[2:]
        elif len(loc) >= 2 and loc[0] == "edges" and isinstance(loc[1], int):
            loc = [f"edges[{loc[1]}]", *loc[2:]]
        field = ".".join(str(x) for x in loc) or None
        problems.append(Problem(message=err["msg"], node=node, field=field))
    return problems


def parse_spec(data: Any) -> WorkflowSpec:
    """Validate a parsed mapping as a workflow.

    Raises:
        SpecError: with one problem per invalid field, naming the node.
    """
    if not isinstance(data, dict):
        raise SpecError(["a workflow must be a YAML mapping with id, name, nodes and edges"])
    try:
        return WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_pydantic_problems(exc, data), workflow_id=data.get("id")) from None


# libyaml when PyYAML has it (4x faster than the pure-Python parser on big files).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Frame:
    """One open mapping or sequence while scanning a file's events."""

    __slots__ = ("anchor", "before", "expect_key", "index", "is_map", "key", "keys")

    def __init__(self, event: yaml.Event, before: int) -> None:
        self.anchor = event.anchor
        self.before = before
        self.is_map = isinstance(event, yaml.MappingStartEvent)
        self.expect_key = True
        self.keys: dict[str, int] = {}
        self.key: Any = None
        self.index = -1


def _scan(text: str) -> list[tuple[list[Any], str, int, int]]:
    """Read the file's YAML events once, before anything is built from them: refuse a file
    nested too deeply or whose aliases expand to too many values (a few lines of ``&a``/``*a``
    can stand for billions), and list its duplicate keys (path, key, line, first line).

    Raises:
        SpecError: a limit of runtime/limits.py is passed.
        yaml.YAMLError: the text is not YAML.
    """
    stack: list[_Frame] = []
    sizes: dict[str, int] = {}
    total = 0
    aliased = False
    duplicates = []
    for event in yaml.parse(text, Loader=_LOADER):
        if not isinstance(event, yaml.NodeEvent | yaml.CollectionEndEvent):
            continue
        line = event.start_mark.line + 1
        if isinstance(event, yaml.CollectionEndEvent):
            frame = stack.pop()
            if frame.anchor:
                sizes[frame.anchor] = total - frame.before
            continue
        if stack:
            parent = stack[-1]
            if not parent.is_map:
                parent.index += 1
            elif parent.expect_key:
                parent.expect_key = False
                key = event.value if isinstance(event, yaml.ScalarEvent) else None
                parent.key = key
                if key is not None and not (key == "<<" and event.implicit[0]):
                    if key in parent.keys:
                        path = [f.key if f.is_map else f.index for f in stack[:-1]]
                        duplicates.append((path, key, line, parent.keys[key]))
                    parent.keys.setdefault(key, line)
            else:
                parent.expect_key = True
        before = total
        if isinstance(event, yaml.AliasEvent):
            aliased = True
            total += sizes.get(event.anchor, 1)
        else:
            total += 1
        if total > MAX_YAML_VALUES:
            what = "expands to" if aliased else "has"
            how = " through its aliases (*name)" if aliased else ""
            raise SpecError(
                [
                    f"at line {line}: the file {what} more than {MAX_YAML_VALUES:,} values{how}; "
                    "a workflow needs far fewer (limit: MAX_YAML_VALUES in runtime/limits.py)"
                ]
            )
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append(_Frame(event, before))
            if len(stack) > MAX_YAML_DEPTH:
                raise SpecError(
                    [
                        f"at line {line}: the YAML is nested more than {MAX_YAML_DEPTH} levels "
                        "deep (limit: MAX_YAML_DEPTH in runtime/limits.py)"
                    ]
                )
        elif isinstance(event, yaml.ScalarEvent) and event.anchor:
            sizes[event.anchor] = 1
    return duplicates


def _duplicate_problems(duplicates: list, data: Any) -> list[Problem]:
    """One problem per duplicate key, naming the node when it is inside one."""
    problems = []
    for path, key, line, first in duplicates:
        node = None
        if len(path) >= 2 and path[0] == "nodes" and isinstance(path[1], int):
            try:
                node = str(data["nodes"][path[1]]["id"])
            except (KeyError, IndexError, TypeError):
                node = f"#{path[1] + 1}"
            path = path[2:]
        field = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in [*path, key]).replace(
            ".[", "["
        )
        message = (
            f"duplicate key {key!r} at line {line} (first at line {first}); "
            "a key may appear once in a mapping: remove or rename one"
        )
        problems.append(Problem(message=message, node=node, field=field))
    return problems


def loads_yaml(text: str, source: str = "<text>") -> WorkflowSpec:
    """Parse YAML text into a workflow spec.

    Refuses, with a clear problem, text over ``MAX_YAML_BYTES``, nested deeper than
    ``MAX_YAML_DEPTH``, expanding through aliases to more than ``MAX_YAML_VALUES`` values,
    or with a key twice in one mapping (runtime/limits.py).

    Raises:
        SpecError: on YAML syntax errors (with the line), limits, duplicate keys and
            invalid fields.
    """
    try:
        data = load_yaml_value(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError([f"YAML syntax error{where}: {what}"]) from None
    return parse_spec(data)


def load_yaml_value(text: str) -> Any:
    """Any YAML (or JSON) value, read within the limits of ``loads_yaml`` (size, nesting,
    alias expansion, duplicate keys): what a form field holding YAML should use.

    Raises:
        SpecError: a limit is passed or a key appears twice.
        yaml.YAMLError: the text is not YAML.
    """
    if len(text) > MAX_YAML_BYTES:
        raise SpecError([_too_big(len(text))])
    duplicates = _scan(text)
    data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    if duplicates:
        raise SpecError(_duplicate_problems(duplicates, data))
    return data


def _too_big(size: int) -> str:
    return (
        f"the file has {size:,} bytes; a workflow file may have at most {MAX_YAML_BYTES:,} "
        "(limit: MAX_YAML_BYTES in runtime/limits.py)"
    )


def load_yaml(path: str | Path) -> WorkflowSpec:
    """Read a workflow from a YAML file (at most ``MAX_YAML_BYTES`` of it).

    Raises:
        SpecError: the file is missing, unreadable, too big, not YAML, or not a valid
            workflow.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_YAML_BYTES + 1)
        if len(raw) > MAX_YAML_BYTES:
            raise SpecError([_too_big(max(p.stat().st_size, len(raw)))])
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise SpecError([f"file not found: {p}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([f"cannot read {p}: {exc}"]) from None
    return loads_yaml(text, source=str(p))


def dump_yaml(spec: WorkflowSpec, path: str | Path) -> None:
    """Write a workflow to a YAML file."""
    Path(path).write_text(spec.to_yaml(), encoding="utf-8")
