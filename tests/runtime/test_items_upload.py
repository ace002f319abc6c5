"""Items from an uploaded file's content: the format by file name, clear problems, a digest."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime import ItemError
from runtime.items import (
    items_from_bytes,
    items_from_text,
    load_items,
    parse_items,
    read_items,
    text_problems,
)

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


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("[]", "none.json", "none.json: the file holds no items (an empty list)"),
        ("a,b\n", "header.csv", "header.csv: the file has a header row (a, b) but no items"),
        ("\n\na,b\n\n", "late.csv", "late.csv: the file has a header row (a, b) but no items"),
    ],
)
def test_a_file_without_items_says_so(text: str, name: str, message: str) -> None:
    with pytest.raises(ItemError) as exc:
        items_from_text(text, name)
    assert problems(exc) == [message]


@pytest.mark.parametrize("name", ["items.txt", "items", "items.yaml"])
def test_an_unknown_extension_names_the_known_ones(name: str) -> None:
    with pytest.raises(ItemError) as exc:
        items_from_text('{"a": 1}', name)
    assert problems(exc) == [f"{name}: items files must end in .jsonl, .json or .csv"]


def test_bytes_that_are_not_utf8_are_refused_naming_the_encoding() -> None:
    with pytest.raises(ItemError) as exc:
        items_from_bytes(b"\xff\xfe\x00garbage\n", "bin.jsonl")
    assert problems(exc) == ["bin.jsonl is not UTF-8 (looks like UTF-16 LE); save it as UTF-8"]


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        ("a,b\n1,café\n".encode("utf-16"), "UTF-16 LE"),
        ("a,b\n1,café\n".encode("utf-16-be"), "UTF-16 BE"),
        ("a,b\n1,café\n".encode("utf-16-le"), "UTF-16 LE"),
        ("a,b\n1,café\n".encode("utf-32"), "UTF-32 LE"),
        ("a,b\n1,x\n2,café\n".encode("latin-1"), "line 3 has byte 0xe9; looks like Latin-1"),
        (
            "a,b\n1,\u2018quoted\u2019\n".encode("cp1252"),
            "line 2 has byte 0x91; looks like Latin-1",
        ),
    ],
)
def test_a_csv_that_is_not_utf8_is_refused_naming_its_encoding(raw: bytes, encoding: str) -> None:
    with pytest.raises(ItemError) as exc:
        items_from_bytes(raw, "items.csv")
    (message,) = problems(exc)
    assert message.startswith("items.csv is not UTF-8 (")
    assert encoding in message and message.endswith("; save it as UTF-8")


def test_an_encoded_surrogate_is_not_utf8() -> None:
    with pytest.raises(ItemError) as exc:
        items_from_bytes(b"a,b\n1,x\xed\xa0\x80y\n", "items.csv")
    assert problems(exc) == [
        "items.csv is not UTF-8: line 2 holds bytes ed a0 80, an encoded surrogate; "
        "save it as UTF-8"
    ]


@pytest.mark.parametrize("name", ["items.csv", "items.jsonl", "items.json"])
def test_a_utf8_byte_order_mark_is_accepted(name: str) -> None:
    body = {
        "items.csv": "a,b\n1,é\n",
        "items.jsonl": '{"a": "1", "b": "é"}\n',
        "items.json": '[{"a": "1", "b": "é"}]',
    }[name]
    items, _ = items_from_bytes(b"\xef\xbb\xbf" + body.encode(), name)
    assert items == [{"a": "1", "b": "é"}]


def test_each_item_knows_its_line() -> None:
    jsonl = parse_items(b'\n{"a": 1}\n\n\n{"a": 2}\r\n{"a": "x\xe2\x80\xa8y"}\n', "i.jsonl")
    assert jsonl.lines == [2, 5, 6]
    assert jsonl.items[2] == {"a": "x\u2028y"}  # a line break inside a string is not a line
    csv = parse_items(b'a,b\n1,x\n\n2,"two\nlines"\n3\n', "i.csv")
    assert csv.items == [{"a": "1", "b": "x"}, {"a": "2", "b": "two\nlines"}, {"a": "3", "b": None}]
    assert csv.lines == [2, 4, 6]
    assert csv.where(1) == "item 2 (line 4)"
    array = parse_items(b'[\n  {"a": 1},\n\n  {"a": [1,\n 2]}, {"a": 3}\n]', "i.json")
    assert array.lines == [2, 4, 5]


def test_a_file_on_disk_reads_like_its_bytes(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(ItemError) as exc:
        read_items(tmp_path / "empty.csv")
    assert problems(exc) == [
        f"{tmp_path}/empty.csv: the file is empty; put a header row, then one item per row"
    ]
    f = load_items(EXAMPLE)
    assert (f.items, f.digest) == read_items(EXAMPLE)
    assert len(f.lines) == len(f.items)
    with pytest.raises(ItemError) as exc:
        load_items(tmp_path)
    assert problems(exc) == [f"{tmp_path} is a folder; give an items file"]


def test_text_problems_name_every_field_with_a_lone_surrogate() -> None:
    assert text_problems({"a": "fine", "b": ["ü", {"c": "😀"}], "n": 1}) == []
    found = text_problems({"a": "x\ud800", "b": ["ok", {"c": "\udfff"}], "\udcff": 1})
    assert [p.field for p in found] == ["a", "b[1].c", "\\udcff"]
    assert "lone surrogate \\ud800" in found[0].message
    assert found[2].message.startswith("the name holds a lone surrogate \\udcff")
