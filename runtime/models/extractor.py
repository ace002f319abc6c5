"""Rule-based field extraction: amounts, e-mails, order ids, dates and more, from free text.

:func:`extract_fields` runs a fixed set of regular expressions over a message
and returns, for each requested field, one value and a confidence between 0
and 1. The confidence is meant for routing: a workflow can send items whose
amount was found with confidence below, say, 0.7 to a human.

How confidence is set:

* a field that is absent gets value ``None`` and confidence 0;
* a clear, well-formed match (``$120.50``, ``ORD-12345``, a valid IBAN) gets 0.9 or more;
* a weak match gets less: a bare number next to "charged" as an amount, an
  ambiguous date such as ``03/04/2026``, a digit run as a phone number, an IBAN
  whose checksum fails;
* when the text holds several different values for one field (two different
  amounts, say), the first of the strongest is returned and its confidence is
  lowered, because a person should check which one was meant.

Matches are claimed in a fixed order (e-mail, IBAN, order id, invoice number,
date, amount, phone, name) so that, for example, the digits of ``ORD-12345``
or of a date are never also read as a phone number or an amount.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from runtime.models.errors import ModelError

#: Every field :func:`extract_fields` knows, in the order they are matched.
SUPPORTED_FIELDS: tuple[str, ...] = (
    "email",
    "iban",
    "order_id",
    "invoice_number",
    "date",
    "amount",
    "phone",
    "name",
)

_STRONG = 0.95
_WEAK = 0.5  # below this a candidate is a guess that loses to any real match
_CONFLICT_PENALTY = 0.5  # confidence is divided by 1 + penalty * (distinct values - 1)


class FieldValue(BaseModel):
    """One extracted field.

    Attributes:
        value: the value found, or ``None`` when the field is absent. Amounts are
            ``{"amount": float, "currency": str | None}``, dates ISO ``YYYY-MM-DD``
            strings, everything else strings.
        confidence: how sure the extractor is, from 0 (absent) to 1.
    """

    value: Any = None
    confidence: float = Field(0.0, ge=0.0, le=1.0)


@dataclass(frozen=True)
class _Candidate:
    value: Any
    key: Any  # values with equal keys are the same thing written differently
    strength: float
    start: int
    end: int
    claims: bool = True  # a guess claims no text: a later, surer field may use it


# ------------------------------------------------------------------ patterns

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)

_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", re.IGNORECASE)

_ORDER_PREFIXED = re.compile(r"\bORD[-_ ]?(\d{4,})\b", re.IGNORECASE)
_ORDER_WORDED = re.compile(
    r"\border\s*(?:#|(?:no|nr|num(?:ber)?|id|ref(?:erence)?)\b\.?)\s*[:#]?\s*"
    r"(?!ORD)((?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,})\b",
    re.IGNORECASE,
)
_ORDER_BARE = re.compile(r"\border\s+(\d{5,})\b", re.IGNORECASE)

_INVOICE_PREFIXED = re.compile(
    r"\bINV(?:[-_ ]?(?=\d)|[-_])(?=[A-Z0-9/-]*\d)[A-Z0-9]+(?:[-/][A-Z0-9]+)*\b", re.IGNORECASE
)
_INVOICE_WORDED = re.compile(
    r"\binvoice\s*(?:#|(?:no|nr|num(?:ber)?|id)\b\.?)\s*[:#]?\s*"
    r"(?!INV)((?=[A-Z0-9/-]*\d)[A-Z0-9][A-Z0-9/-]*[A-Z0-9]|\d)\b",
    re.IGNORECASE,
)
_INVOICE_BARE = re.compile(r"\binvoice\s+(\d{3,})\b", re.IGNORECASE)

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DATE_ISO = re.compile(r"\b(\d{4})([-/.])(\d{1,2})\2(\d{1,2})\b")
_DATE_NUMERIC = re.compile(r"\b(\d{1,2})([/.-])(\d{1,2})\2(\d{4})\b")
_DATE_MONTH_FIRST = re.compile(
    rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE
)
_DATE_DAY_FIRST = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(\d{{4}})\b", re.IGNORECASE
)

_NUMBER = r"(\d{1,3}(?:[,.'\u00a0\u202f]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)"
_CURRENCY_SYMBOLS = {
    "$": "USD", "us$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY",
    "c$": "CAD", "ca$": "CAD", "a$": "AUD", "au$": "AUD", "₹": "INR", "chf": "CHF",
}  # fmt: skip
_CURRENCY_CODES = (
    "USD", "EUR", "GBP", "CHF", "CAD", "AUD", "JPY", "INR", "SEK", "NOK", "DKK", "PLN", "CZK",
    "NZD", "SGD", "HKD", "MXN", "BRL", "ZAR",
)  # fmt: skip
_CURRENCY_WORDS = {
    "euro": "EUR", "euros": "EUR", "dollar": "USD", "dollars": "USD", "bucks": "USD",
    "pound": "GBP", "pounds": "GBP", "quid": "GBP",
}  # fmt: skip
_SYMBOL = r"(US\$|CA?\$|AU?\$|[$€£¥₹])"
_CODE = rf"\b({'|'.join(_CURRENCY_CODES)})\b"
_WORD = rf"\b({'|'.join(_CURRENCY_WORDS)})\b"
_AMOUNT_BEFORE = re.compile(rf"(?:{_SYMBOL}|{_CODE})\s?{_NUMBER}(?![\d,.]*\d)", re.IGNORECASE)
_AMOUNT_AFTER = re.compile(
    rf"(?<![\w.,]){_NUMBER}\s?(?:{_SYMBOL}(?!\w)|{_CODE}|{_WORD})", re.IGNORECASE
)
_AMOUNT_KEYWORD = re.compile(
    r"\b(?:charged?|paid|pay|refund(?:ed)?|cost|costs|price|amount|billed|fee|total|owed?|"
    r"reimburse(?:d|ment)?|balance)\b[^\d\n]{0,20}?(?<![\w.,#+-])(?<!ending )(?<!ending in )"
    rf"{_NUMBER}(?![\w,.]*\d)(?!\s*(?:%|x\b|times|days?|weeks?|months?|years?|hours?|items?"
    r"|seats?|users?|people|pieces?))",
    re.IGNORECASE,
)

_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d \t().\-/]{5,}\d(?![\w])")
_PHONE_CONTEXT = re.compile(
    r"\b(?:call|phone|tel|telephone|mobile|cell|whatsapp|reach me|text me|number)\b", re.I
)

_NAME_WORD = r"[A-Z][a-z'\u2019-]+"
_NAME = rf"({_NAME_WORD}(?:[ ]{_NAME_WORD}){{0,2}})"
_NAME_INTRO = re.compile(rf"(?i:\b(?:my name is|this is|i am|i'm))\s+{_NAME}\b")
_NAME_SIGNOFF = re.compile(
    rf"(?i:\b(?:regards|thanks|thank you|cheers|best|sincerely|best wishes|yours))"
    rf"[,!.]?\s*[\n,]?\s*{_NAME}\s*[.!]?\s*$"
)
_NAME_DASH = re.compile(rf"(?:^|\s)[-\u2013\u2014]\s*({_NAME_WORD}(?:[ ]{_NAME_WORD}){{1,2}})\s*$")
_NOT_NAMES = {"Very", "Please", "Urgent", "Here", "Not", "So", "Just", "Really", "Still"}


# ---------------------------------------------------------------- extractors


def _emails(text: str) -> Iterable[_Candidate]:
    for m in _EMAIL.finditer(text):
        value = m.group(0).rstrip(".")
        yield _Candidate(value, value.lower(), 0.98, m.start(), m.start() + len(value))


def _iban_valid(compact: str) -> bool:
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def _ibans(text: str) -> Iterable[_Candidate]:
    for m in _IBAN.finditer(text):
        compact = m.group(0).replace(" ", "").upper()
        if not 15 <= len(compact) <= 34:
            continue
        strength = 0.98 if _iban_valid(compact) else 0.35  # a typo, or not an IBAN at all
        yield _Candidate(compact, compact, strength, m.start(), m.end())


def _order_ids(text: str) -> Iterable[_Candidate]:
    for m in _ORDER_PREFIXED.finditer(text):
        yield _Candidate(f"ORD-{m.group(1)}", m.group(1), 0.97, m.start(), m.end())
    for m in _ORDER_WORDED.finditer(text):
        value = m.group(1).upper()
        yield _Candidate(value, _compact(value), 0.85, m.start(), m.end())
    for m in _ORDER_BARE.finditer(text):
        yield _Candidate(m.group(1), m.group(1), 0.7, m.start(), m.end())


def _invoice_numbers(text: str) -> Iterable[_Candidate]:
    for m in _INVOICE_PREFIXED.finditer(text):
        value = m.group(0).upper()
        yield _Candidate(value, _compact(value), 0.95, m.start(), m.end())
    for m in _INVOICE_WORDED.finditer(text):
        value = m.group(1).upper()
        yield _Candidate(value, _compact(value), 0.85, m.start(), m.end())
    for m in _INVOICE_BARE.finditer(text):
        yield _Candidate(m.group(1), m.group(1), 0.65, m.start(), m.end())


def _make_date(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _dates(text: str, dayfirst: bool) -> Iterable[_Candidate]:
    for m in _DATE_ISO.finditer(text):
        iso = _make_date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
        if iso:
            yield _Candidate(iso, iso, _STRONG, m.start(), m.end())
    for m in _DATE_NUMERIC.finditer(text):
        a, b, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        if a > 12 >= b:
            iso, strength = _make_date(year, b, a), 0.9
        elif b > 12 >= a or a == b:
            iso, strength = _make_date(year, a, b), 0.9
        else:  # 03/04/2026: 3 April or March 4? Trust the convention, but not fully.
            iso = _make_date(year, b, a) if dayfirst else _make_date(year, a, b)
            strength = 0.6
        if iso:
            yield _Candidate(iso, iso, strength, m.start(), m.end())
    for m in _DATE_MONTH_FIRST.finditer(text):
        iso = _make_date(int(m.group(3)), _MONTHS[m.group(1)[:3].lower()], int(m.group(2)))
        if iso:
            yield _Candidate(iso, iso, _STRONG, m.start(), m.end())
    for m in _DATE_DAY_FIRST.finditer(text):
        iso = _make_date(int(m.group(3)), _MONTHS[m.group(2)[:3].lower()], int(m.group(1)))
        if iso:
            yield _Candidate(iso, iso, _STRONG, m.start(), m.end())


def _parse_number(raw: str) -> float | None:
    """Read ``1,234.56``, ``1.234,56``, ``120,50`` and ``120.50`` alike."""
    s = re.sub(r"['\u00a0\u202f]", "", raw)
    if "," in s and "." in s:
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif "," in s:
        head, _, tail = s.rpartition(",")
        s = f"{head.replace(',', '')}.{tail}" if len(tail) <= 2 else s.replace(",", "")
    elif s.count(".") > 1:
        s = s.replace(".", "")
    try:
        return float(s)
    except ValueError:
        return None


def _currency(token: str | None) -> str | None:
    if not token:
        return None
    low = token.lower()
    return _CURRENCY_SYMBOLS.get(low) or _CURRENCY_WORDS.get(low) or token.upper()


def _amounts(text: str) -> Iterable[_Candidate]:
    for m in _AMOUNT_BEFORE.finditer(text):
        number = _parse_number(m.group(3))
        if number is not None:
            currency = _currency(m.group(1) or m.group(2))
            yield _amount(number, currency, _STRONG, m)
    for m in _AMOUNT_AFTER.finditer(text):
        number = _parse_number(m.group(1))
        if number is not None:
            currency = _currency(m.group(2) or m.group(3) or m.group(4))
            # "5 pound bag" is a weight as often as it is money.
            word = (m.group(4) or "").lower()
            yield _amount(number, currency, 0.7 if word.startswith("pound") else _STRONG, m)
    for m in _AMOUNT_KEYWORD.finditer(text):
        number = _parse_number(m.group(1))
        if number is not None:
            # A bare number next to "charged": probably money, currency unknown.
            yield _Candidate(
                {"amount": number, "currency": None},
                (number, None),
                0.45,
                m.start(1),
                m.end(1),
                claims=False,
            )


def _amount(number: float, currency: str | None, strength: float, m: re.Match[str]) -> _Candidate:
    value = round(number, 2)
    return _Candidate(
        {"amount": value, "currency": currency}, (value, currency), strength, m.start(), m.end()
    )


def _phones(text: str) -> Iterable[_Candidate]:
    for m in _PHONE.finditer(text):
        raw = m.group(0).strip(" .-/")
        if raw.count("(") != raw.count(")"):
            raw = raw.strip("()")
        digits = re.sub(r"\D", "", raw)
        if not 7 <= len(digits) <= 15:
            continue
        international = raw.startswith(("+", "00"))
        if international or "(" in raw:
            strength = 0.85
        elif re.search(r"[\s.\-/]", raw):
            strength = 0.7
        else:
            strength = 0.45  # a bare run of digits could be anything
        before = text[max(0, m.start() - 30) : m.start()]
        if _PHONE_CONTEXT.search(before):
            strength = min(0.95, strength + 0.15)
        key = (
            ("+" + digits[2:]) if raw.startswith("00") else ("+" if international else "") + digits
        )
        start = m.start() + m.group(0).index(raw)
        yield _Candidate(raw, key, strength, start, start + len(raw))


def _names(text: str) -> Iterable[_Candidate]:
    stripped = text.rstrip()
    for pattern, strength in ((_NAME_INTRO, 0.7), (_NAME_SIGNOFF, 0.7), (_NAME_DASH, 0.55)):
        for m in pattern.finditer(stripped):
            name = m.group(1)
            if name.split()[0] in _NOT_NAMES:
                continue
            yield _Candidate(name, name.lower(), strength, m.start(1), m.end(1))


def _compact(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", value.upper())


# ------------------------------------------------------------------- public


def extract_fields(
    text: str, fields: Sequence[str], *, dayfirst: bool = True
) -> dict[str, FieldValue]:
    """Extract fields from free text with regular expressions.

    Args:
        text: the message to read.
        fields: names from :data:`SUPPORTED_FIELDS`, e.g. ``["amount", "order_id"]``.
        dayfirst: read ambiguous numeric dates such as ``03/11/2026`` as day/month
            (3 November, the default) rather than month/day; either way their
            confidence is lowered.

    Returns:
        One :class:`FieldValue` per requested field, keyed by field name. Absent
        fields have value ``None`` and confidence 0.

    Raises:
        ModelError: a field name is not supported (the message lists the
            supported ones), or ``text`` is not a string.

    Example:
        >>> found = extract_fields("Refund $120.50 for ORD-12345 please", ["amount", "order_id"])
        >>> found["amount"].value, found["amount"].confidence
        ({'amount': 120.5, 'currency': 'USD'}, 0.95)
        >>> found["order_id"].value
        'ORD-12345'
    """
    if isinstance(fields, str):
        raise ModelError(f"fields must be a list of field names, e.g. [{fields!r}]")
    unknown = [f for f in fields if f not in SUPPORTED_FIELDS]
    if unknown:
        names = ", ".join(repr(f) for f in unknown)
        raise ModelError(
            f"unknown field{'s' if len(unknown) > 1 else ''} {names}: "
            f"supported fields are {', '.join(SUPPORTED_FIELDS)}"
        )
    if not isinstance(text, str):
        raise ModelError(f"can only extract fields from text, not {type(text).__name__}")
    found = _scan(text, dayfirst, set(fields))
    return {field: _resolve(found.get(field, [])) for field in fields}


def _scan(text: str, dayfirst: bool, wanted: set[str]) -> dict[str, list[_Candidate]]:
    """Run every extractor in claim order; later ones skip spans already claimed."""
    extractors: list[tuple[str, Callable[[str], Iterable[_Candidate]]]] = [
        ("email", _emails),
        ("iban", _ibans),
        ("order_id", _order_ids),
        ("invoice_number", _invoice_numbers),
        ("date", lambda t: _dates(t, dayfirst)),
        ("amount", _amounts),
        ("phone", _phones),
        ("name", _names),
    ]
    last_needed = max(SUPPORTED_FIELDS.index(f) for f in wanted) if wanted else -1
    claimed: list[tuple[int, int]] = []
    found: dict[str, list[_Candidate]] = {}
    for index, (field, extractor) in enumerate(extractors):
        if index > last_needed:
            break
        kept: list[_Candidate] = []
        for candidate in extractor(text):
            if any(candidate.start < end and start < candidate.end for start, end in claimed):
                continue
            if any(candidate.start < k.end and k.start < candidate.end for k in kept):
                continue  # overlaps a stronger-pattern match of the same field
            kept.append(candidate)
        claimed.extend((c.start, c.end) for c in kept if c.claims)
        found[field] = kept
    # Drop guesses whose text a surer field claimed later (a phone number after "refund").
    for field, candidates in found.items():
        found[field] = [
            c
            for c in candidates
            if c.claims or not any(c.start < end and start < c.end for start, end in claimed)
        ]
    return found


def _resolve(candidates: list[_Candidate]) -> FieldValue:
    """Pick one value; less confident when the strongest candidates disagree."""
    if not candidates:
        return FieldValue(value=None, confidence=0.0)
    top = max(c.strength for c in candidates)
    # Weak candidates (a bare number, a bad IBAN) do not count once a real one exists.
    contenders = [c for c in candidates if c.strength >= min(top, _WEAK)]
    contenders.sort(key=lambda c: (-c.strength, c.start))
    distinct = {c.key for c in contenders}
    confidence = top / (1 + _CONFLICT_PENALTY * (len(distinct) - 1))
    return FieldValue(value=contenders[0].value, confidence=round(confidence, 3))
