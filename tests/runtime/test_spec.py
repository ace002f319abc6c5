"""The workflow file format: YAML round trips, errors that name nodes and lines, digests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runtime.errors import SpecError
from runtime.spec import WorkflowSpec, dump_yaml, load_yaml, loads_yaml, parse_spec

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))

MINIMAL = """\
id: mini
name: Mini
nodes:
  - {id: start, type: trigger}
  - {id: done, type: end}
edges:
  - {from: start, to: done}
"""


def problems_of(text: str) -> list:
    with pytest.raises(SpecError) as info:
        loads_yaml(text)
    return info.value.problems


def test_examples_exist():
    assert len(EXAMPLES) >= 7


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_round_trips(path: Path, tmp_path: Path):
    spec = load_yaml(path)
    text = spec.to_yaml()
    again = loads_yaml(text)
    assert again == spec
    assert again.digest() == spec.digest()
    # Dumping is idempotent, and a file written with dump_yaml reads back equal.
    assert again.to_yaml() == text
    out = tmp_path / path.name
    dump_yaml(spec, out)
    assert load_yaml(out) == spec
    # The dump is the file format: `from`/`to` aliases, schema_version, no defaults.
    data = yaml.safe_load(text)
    assert data["schema_version"] == 1
    assert all(set(e) <= {"from", "to", "branch"} for e in data["edges"])
    assert "max_steps" not in data
    assert all("sensitive" not in n or n["sensitive"] for n in data["nodes"])


TRICKY = [
    "yes",
    "no",
    "null",
    "~",
    "on",
    "1.0",
    "1e3",
    "0x1F",
    "2024-01-01",
    "{{ item.x }}",
    "a: b",
    "# hash",
    " lead",
    "trail ",
    "",
    "'q'",
    '"dq"',
    "- dash",
    "[x]",
    "{x}",
    "*star",
    "&amp",
    "!bang",
    "%pct",
    "| pipe",
    "> gt",
    "?q",
    "\ttab",
    "a\r\nb",
    "multi\nline",
    "multi\nline \nwith trailing spaces\n",
    "ends\n\n",
    "ünï ✓ 😀",
    "a\u2028b",
    "\ufeffbom",
]


def test_tricky_strings_round_trip():
    spec = WorkflowSpec.model_validate(
        {
            "id": "round-trip",
            "name": "Round trip ✓",
            "description": "line one\nline two\n",
            "max_steps": 17,
            "input": {
                "a": {"type": "string", "enum": TRICKY[:12], "description": "yes"},
                "n": {"type": "number", "default": 1.5, "required": True},
            },
            "nodes": [
                {"id": "start", "type": "trigger", "position": (1.5, -2)},
                {
                    "id": "s",
                    "type": "set",
                    "name": "no",
                    "params": {"values": {f"k{i}": t for i, t in enumerate(TRICKY)}, "lst": TRICKY},
                },
                {"id": "done", "type": "end", "sensitive": True},
            ],
            "edges": [{"from": "start", "to": "s"}, {"from": "s", "to": "done", "branch": "true"}],
        }
    )
    back = loads_yaml(spec.to_yaml())
    assert back == spec
    assert back.nodes[1].params["values"] == {f"k{i}": t for i, t in enumerate(TRICKY)}
    assert back.nodes[0].position == (1.5, -2.0)
    assert back.max_steps == 17


def test_next_line_character_round_trips():
    spec = parse_spec({"id": "nel", "name": "NEL", "description": "x\x85y"})
    assert loads_yaml(spec.to_yaml()).description == "x\x85y"


def test_from_and_to_aliases_and_field_names_both_parse():
    by_alias = parse_spec({"id": "a", "name": "A", "edges": [{"from": "x", "to": "y"}]})
    by_name = parse_spec({"id": "a", "name": "A", "edges": [{"source": "x", "target": "y"}]})
    assert by_alias == by_name
    assert by_alias.edges[0].source == "x"
    assert by_alias.to_dict()["edges"] == [{"from": "x", "to": "y"}]


# ---------------------------------------------------------------- errors


def test_pydantic_errors_name_node_ids():
    problems = problems_of(
        "id: t\nname: T\nnodes:\n"
        "  - {id: start, type: trigger, bogus: 1}\n"
        "  - {id: Bad-Id, type: end}\n"
        "  - {type: end}\n"
        "  - {id: fine, type: set, sensitive: maybe}\n"
    )
    by_node = {(p.node, p.field) for p in problems}
    assert ("start", "bogus") in by_node
    assert ("Bad-Id", "id") in by_node
    assert ("#3", "id") in by_node  # no id: the node is named by position
    assert ("fine", "sensitive") in by_node
    assert len(problems) == 4
    assert all(p.severity == "error" for p in problems)


def test_every_problem_is_reported_not_just_the_first():
    with pytest.raises(SpecError) as info:
        loads_yaml(
            "id: Not An Id\nname: T\nschema_version: 2\nmax_steps: 0\nextra: 1\n"
            "edges:\n  - {from: a}\n  - {from: a, to: b, branch: [x]}\n"
        )
    fields = {p.field for p in info.value.problems}
    assert fields == {
        "id",
        "schema_version",
        "max_steps",
        "extra",
        "edges[0].to",
        "edges[1].branch",
    }
    # The exception's message carries each problem, prefixed by the workflow id.
    text = str(info.value)
    assert text.startswith("workflow Not An Id: ")
    assert text.count(";") == len(info.value.problems) - 1


def test_node_that_is_not_a_mapping_is_named_by_position():
    problems = problems_of("id: t\nname: T\nnodes:\n  - {id: a, type: trigger}\n  - 5\n")
    assert [(p.node, p.field) for p in problems] == [("#2", None)]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("id: t\nname: T\nnodes:\n  - id: a\n    type: trigger: x\n", 5),
        ("id: t\nname: T\nnodes:\n  - {id: a, type: trigger\n  - {id: b}\n", 5),
        ("id: t\n\tname: T\n", 2),
        ("id: t\nname: 'unterminated\n", 3),
    ],
    ids=["mapping-value", "unclosed-flow", "tab", "quote"],
)
def test_yaml_syntax_error_names_the_line(text: str, line: int):
    (problem,) = problems_of(text)
    assert problem.message.startswith("YAML syntax error")
    assert f"line {line}," in problem.message


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n", "42\n", "null\n"])
def test_not_a_mapping(text: str):
    (problem,) = problems_of(text)
    assert "must be a YAML mapping" in problem.message


def test_missing_and_unreadable_files(tmp_path: Path):
    with pytest.raises(SpecError, match=r"file not found: .*nope\.yaml"):
        load_yaml(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="cannot read"):
        load_yaml(tmp_path)  # a directory
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(SpecError, match="cannot read"):
        load_yaml(binary)


def test_node_lookup():
    spec = loads_yaml(MINIMAL)
    assert spec.node("done").type == "end"
    assert spec.node("nope") is None


# ---------------------------------------------------------------- digest


def test_digest_is_stable_and_content_addressed():
    spec = loads_yaml(MINIMAL)
    digest = spec.digest()
    assert len(digest) == 16 and int(digest, 16) >= 0
    assert loads_yaml(MINIMAL).digest() == digest
    assert loads_yaml(spec.to_yaml()).digest() == digest
    # Key order and explicitly written defaults do not change it.
    reordered = (
        "edges:\n  - {to: done, from: start}\nnodes:\n  - {type: trigger, id: start}\n"
        "  - {id: done, type: end, sensitive: false, params: {}}\n"
        "schema_version: 1\nmax_steps: 200\nname: Mini\nid: mini\ndescription: ''\n"
    )
    assert loads_yaml(reordered).digest() == digest
    # Any change of content does.
    changed = [
        MINIMAL.replace("name: Mini", "name: Mini 2"),
        MINIMAL.replace("{id: done, type: end}", "{id: done, type: end, params: {result: ok}}"),
        MINIMAL + "max_steps: 10\n",
        MINIMAL.replace("{from: start, to: done}", "{from: start, to: done, branch: next}"),
    ]
    digests = {loads_yaml(t).digest() for t in changed}
    assert digest not in digests
    assert len(digests) == len(changed)


def test_example_digests_differ():
    digests = {load_yaml(p).digest() for p in EXAMPLES}
    assert len(digests) == len(EXAMPLES)
