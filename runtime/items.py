"""Reading input items from JSON text, JSON Lines files and CSV files.

A file is read whole into an :class:`ItemFile`: its items, the line each item starts on
(so a bad item can be named by its line) and a digest of its bytes (which keys a batch).
A file that cannot be items at all is refused before anything starts: missing, not UTF-8
(the encoding it looks like is named), empty, a CSV header without rows, or a line that is
not a JSON object. An item that parses but cannot be stored (text that is not valid
Unicode) is a bad item like one that does not match the workflow's input: see
:func:`text_problems`, which the engine asks before it starts a run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.errors import ItemError, Problem

SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")
_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32 BE"),
    (b"\xff\xfe\x00\x00", "UTF-32 LE"),
    (b"\xfe\xff", "UTF-16 BE"),
    (b"\xff\xfe", "UTF-16 LE"),
)
_UTF8_BOM = b"\xef\xbb\xbf"
_SPACE = re.compile(r"[ \t\n\r]*")
_EMPTY_HINT = {
    ".csv": "put a header row, then one item per row",
    ".json": 'put a list of objects like [{"field": 1}]',
}


@dataclass(frozen=True)
class ItemFile:
    """The items of one file, where each starts, and the digest of the file's bytes.

    Attributes:
        name: the file as the user named it (used in every message).
        items: one dict per item, in file order.
        lines: the line of the file each item starts on (1-based), parallel to ``items``.
        digest: the first 16 hex digits of the SHA-256 of the file's bytes.
    """

    name: str
    items: list[dict[str, Any]]
    lines: list[int]
    digest: str

    def where(self, index: int) -> str:
        """Item ``index`` (0-based) named for a message: ``item 7 (line 9)``."""
        return f"item {index + 1} (line {self.lines[index]})"


def parse_item(text: str, source: str = "--item") -> dict[str, Any]:
    """One item from JSON text.

    Raises:
        ItemError: not JSON, or not a JSON object.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ItemError([f"{source}: not valid JSON ({exc.msg} at column {exc.colno})"]) from None
    if not isinstance(value, dict):
        raise ItemError([f'{source}: an item must be a JSON object like {{"field": 1}}'])
    return value


def load_items(path: str | Path) -> ItemFile:
    """The items of a ``.jsonl``/``.ndjson``/``.json``/``.csv`` file, with their lines.

    Raises:
        ItemError: the file is missing or unreadable, has another extension, is not UTF-8,
            is empty or holds no items, or a line or element is not a JSON object (each
            problem names the file and the line).
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ItemError([f"items file not found: {p}"]) from None
    except IsADirectoryError:
        raise ItemError([f"{p} is a folder; give an items file"]) from None
    except OSError as exc:
        raise ItemError([f"cannot read {p}: {exc.strerror or exc}"]) from None
    return parse_items(raw, str(p))


def read_items(path: str | Path) -> tuple[list[dict[str, Any]], str]:
    """Items from a ``.jsonl``/``.json``/``.csv`` file, and a digest of the file's content.

    Raises:
        ItemError: see :func:`load_items`.
    """
    f = load_items(path)
    return f.items, f.digest


def items_from_bytes(raw: bytes, name: str) -> tuple[list[dict[str, Any]], str]:
    """Items from an uploaded file's content; ``name`` (its file name) picks the format.

    The digest is the same :func:`read_items` gives for that file, so it can key a batch.

    Raises:
        ItemError: see :func:`parse_items`.
    """
    f = parse_items(raw, name)
    return f.items, f.digest


def items_from_text(text: str, name: str) -> tuple[list[dict[str, Any]], str]:
    """Items from text (UTF-8 encoded for the digest); see :func:`items_from_bytes`."""
    return items_from_bytes(text.encode("utf-8", errors="surrogatepass"), name)


def parse_items(raw: bytes, name: str) -> ItemFile:
    """An items file's content read by the format its ``name`` ends in.

    Raises:
        ItemError: an unknown extension, bytes that are not UTF-8 (a UTF-8 byte order mark
            is fine), an empty file, a file without items, or content that is not items
            (each problem names the line or element).
    """
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ItemError([f"{name}: items files must end in .jsonl, .json or .csv"])
    digest = hashlib.sha256(raw).hexdigest()[:16]
    text = decode_utf8(raw, name)
    if not text.strip():
        hint = _EMPTY_HINT.get(suffix, "put one item per line")
        raise ItemError([f"{name}: the file is empty; {hint}"])
    if suffix == ".csv":
        items, lines = _csv(text, name)
    elif suffix == ".json":
        items, lines = _json_array(text, name)
    else:
        items, lines = _jsonl(text, name)
    return ItemFile(name=name, items=items, lines=lines, digest=digest)


def decode_utf8(raw: bytes, name: str) -> str:
    """The text of a UTF-8 file (a leading byte order mark dropped).

    Raises:
        ItemError: the bytes are UTF-16 or UTF-32 (by their byte order mark or their zero
            bytes), or not valid UTF-8; the message names the encoding they look like and,
            for an 8-bit encoding, the first line that is not UTF-8.
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            raise ItemError([_not_utf8(name, encoding)])
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM) :]
    wide = _utf16_without_bom(raw)
    if wide:
        raise ItemError([_not_utf8(name, wide)])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.start + 3]
        if bad[:1] == b"\xed" and bad[1:2] and 0xA0 <= bad[1] <= 0xBF:
            what = f"line {line} holds bytes {bad.hex(' ')}, an encoded surrogate"
            raise ItemError([f"{name} is not UTF-8: {what}; save it as UTF-8"]) from None
        try:
            raw.decode("cp1252")
            guess = "Latin-1 / Windows-1252"
        except UnicodeDecodeError:
            guess = "an 8-bit encoding"
        byte = raw[exc.start : exc.start + 1].hex()
        raise ItemError([_not_utf8(name, guess, f"line {line} has byte 0x{byte}")]) from None


def _not_utf8(name: str, encoding: str, detail: str = "") -> str:
    where = f"{detail}; " if detail else ""
    return f"{name} is not UTF-8 ({where}looks like {encoding}); save it as UTF-8"


def _utf16_without_bom(raw: bytes) -> str | None:
    """'UTF-16 LE'/'UTF-16 BE' when the zero bytes say so (mostly text of ASCII letters)."""
    sample = raw[:4096]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = len(sample) // 2
    if odd >= half * 0.6 and even < half * 0.1:
        return "UTF-16 LE"
    if even >= half * 0.6 and odd < half * 0.1:
        return "UTF-16 BE"
    return None


def _lines(text: str) -> list[str]:
    """Lines split at ``\\n`` only (a JSON string may hold U+2028 and other breaks)."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def _jsonl(text: str, name: str) -> tuple[list[dict[str, Any]], list[int]]:
    items: list[dict[str, Any]] = []
    lines: list[int] = []
    problems: list[Problem | str] = []
    for lineno, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        try:
            items.append(parse_item(line, source=f"{name}:{lineno}"))
            lines.append(lineno)
        except ItemError as exc:
            problems += exc.problems
    if problems:
        raise ItemError(problems)
    return items, lines


def _csv(text: str, name: str) -> tuple[list[dict[str, Any]], list[int]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    items: list[dict[str, Any]] = []
    lines: list[int] = []
    try:
        header = next((row for row in reader if any(cell.strip() for cell in row)), None)
        if header is None:
            raise ItemError([f"{name}: the file has no header row; put the field names first"])
        while True:
            start = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            if not row:
                continue  # a blank line
            item: dict[str, Any] = {}
            for i, key in enumerate(header):
                if key:
                    value = row[i] if i < len(row) else ""
                    item[key] = value if value != "" else None
            items.append(item)
            lines.append(start)
    except csv.Error as exc:
        raise ItemError([f"{name}: line {reader.line_num}: not a valid CSV row ({exc})"]) from None
    if not items:
        names = ", ".join(h for h in header if h)
        raise ItemError([f"{name}: the file has a header row ({names}) but no items"])
    return items, lines


def _json_array(text: str, name: str) -> tuple[list[dict[str, Any]], list[int]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ItemError([f"{name}: not valid JSON ({exc.msg} at line {exc.lineno})"]) from None
    if not isinstance(data, list):
        raise ItemError([f"{name}: a .json items file must hold a list of objects"])
    bad = [i for i, x in enumerate(data, start=1) if not isinstance(x, dict)]
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ItemError(
            [
                f"{name}: a .json items file must hold a list of objects; element(s) "
                f"{', '.join(map(str, bad[:5]))}{more} are not objects"
            ]
        )
    if not data:
        raise ItemError([f"{name}: the file holds no items (an empty list)"])
    return data, _element_lines(text, len(data))


def _element_lines(text: str, count: int) -> list[int]:
    """The line each element of a valid JSON array ``text`` starts on."""
    decoder = json.JSONDecoder()
    pos = _SPACE.match(text, 0).end() + 1  # past "["
    line, counted = 1, 0
    lines = []
    for _ in range(count):
        pos = _SPACE.match(text, pos).end()
        line += text.count("\n", counted, pos)
        counted = pos
        lines.append(line)
        _, pos = decoder.raw_decode(text, pos)
        pos = _SPACE.match(text, pos).end() + 1  # past "," (or the closing "]")
    return lines


def text_problems(item: dict[str, Any]) -> list[Problem]:
    """Strings of an item that cannot be stored: a lone surrogate such as ``\\ud800`` (a
    JSON escape of half a character), in a field's value or in a key, however deep.

    Returns:
        One problem per field (``field note``, ``field a.b[2]``); empty when all is text.
    """
    try:
        json.dumps(item, ensure_ascii=False).encode("utf-8")
        return []
    except UnicodeEncodeError:
        pass
    except (TypeError, ValueError, RecursionError):
        return []  # not JSON at all: the workflow's input check says so
    found: list[Problem] = []
    _walk(item, "", found)
    return found


def _walk(value: Any, path: str, found: list[Problem]) -> None:
    if isinstance(value, str):
        bad = _surrogate(value)
        if bad:
            found.append(Problem(field=path or "(item)", message=_SURROGATE.format(bad)))
        return
    if isinstance(value, dict):
        for key, sub in value.items():
            key_text = str(key)
            bad = _surrogate(key_text)
            if bad:
                shown = key_text.encode("utf-8", "backslashreplace").decode()
                where = f"{path}.{shown}" if path else shown
                found.append(Problem(field=where, message=f"the name {_SURROGATE.format(bad)}"))
                continue
            _walk(sub, f"{path}.{key_text}" if path else key_text, found)
    elif isinstance(value, list | tuple):
        for i, sub in enumerate(value):
            _walk(sub, f"{path}[{i}]", found)


_SURROGATE = (
    "holds a lone surrogate {} (half of a character, not valid Unicode); fix the text "
    "where it came from"
)


def _surrogate(text: str) -> str | None:
    """The first lone surrogate of ``text`` as an escape (``\\ud800``), or None."""
    for ch in text:
        if "\ud800" <= ch <= "\udfff":
            return f"\\u{ord(ch):04x}"
    return None
