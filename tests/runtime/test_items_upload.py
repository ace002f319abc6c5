"""Items from an uploaded file's content: the format by file name, clear problems, a digest."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime import ItemError
from runtime.items import items_from_bytes, items_from_text, read_items

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "items" / "expense-approval.jsonl"


def problems(exc: pytest.ExceptionInfo[ItemError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_jsonl_json_and_csv_give_the_same_items() -> None:
    jsonl, _ = items_from_text('{"a": 1, "b": "x"}\n\n{"a": 2, "b": "y"}\n', "items.jsonl")
    as_json, _ = items_from_text('[{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]', "items.JSON")
    csv, _ = items_from_text("a,b\n1,x\n2,\n", "items.csv")
    assert jsonl == as_json == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    assert csv == [{"a": "1", "b": "x"}, {"a": "2", "b": None}]


def test_the_digest_is_the_files_digest_as_read_items_gives_it() -> None:
    items, digest = items_from_bytes(EXAMPLE.read_bytes(), EXAMPLE.name)
    assert (items, digest) == read_items(EXAMPLE)
    assert items_from_text("{}\n", "a.jsonl")[1] != items_from_text("{} \n", "a.jsonl")[1]


def test_a_bad_jsonl_line_is_named_by_file_and_line() -> None:
    with pytest.raises(ItemError) as exc:
        items_from_text('{"a": 1}\n{"a": \n[1, 2]\n{"b": 2}\n', "up.jsonl")
    found = problems(exc)
    assert len(found) == 2
    assert found[0].startswith("up.jsonl:2: not valid JSON")
    assert found[1].startswith("up.jsonl:3: an item must be a JSON object")
    assert "Traceback" not in str(exc.value)


def test_a_json_file_must_be_a_list_of_objects() -> None:
    with pytest.raises(ItemError) as exc:
        items_from_text('{"a": 1', "up.json")
    assert problems(exc)[0].startswith("up.json: not valid JSON")
    with pytest.raises(ItemError) as exc:
        items_from_text('{"a": 1}', "up.json")
    assert "must hold a list of objects" in problems(exc)[0]
    with pytest.raises(ItemError) as exc:
        items_from_text('[{"a": 1}, 2, "x"]', "up.json")
    assert "element(s) 2, 3 are not objects" in problems(exc)[0]


@pytest.mark.parametrize("text", ["", "  \n\n", "\ufeff"])
def test_an_empty_file_says_so(text: str) -> None:
    with pytest.raises(ItemError) as exc:
        items_from_text(text, "empty.jsonl")
    assert problems(exc) == ["empty.jsonl: the file is empty; put one item per line"]


@pytest.mark.parametrize(("text", "name"), [("[]", "none.json"), ("a,b\n", "header.csv")])
def test_a_file_without_items_says_so(text: str, name: str) -> None:
    with pytest.raises(ItemError) as exc:
        items_from_text(text, name)
    assert problems(exc) == [f"{name}: the file holds no items"]


@pytest.mark.parametrize("name", ["items.txt", "items", "items.yaml"])
def test_an_unknown_extension_names_the_known_ones(name: str) -> None:
    with pytest.raises(ItemError) as exc:
        items_from_text('{"a": 1}', name)
    assert problems(exc) == [f"{name}: items files must end in .jsonl, .json or .csv"]


def test_bytes_that_are_not_utf8_do_not_raise_a_decode_error() -> None:
    with pytest.raises(ItemError) as exc:
        items_from_bytes(b"\xff\xfe\x00garbage\n", "bin.jsonl")
    assert problems(exc)[0].startswith("bin.jsonl:1: not valid JSON")
