"""Identifier types and their generators."""

from __future__ import annotations

import base64
import os
import time
from typing import NewType

WorkflowId = NewType("WorkflowId", str)
NodeId = NewType("NodeId", str)
RunId = NewType("RunId", str)
ReviewId = NewType("ReviewId", str)
UserName = NewType("UserName", str)

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


_FROM_RFC4648 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)


def _b32(value: int, length: int) -> str:
    """``value``'s low ``5 * length`` bits in the alphabet above, most significant first."""
    if length % 8 == 0:  # whole 40-bit groups: the C base32 encoder, then our alphabet
        raw = (value & ((1 << (5 * length)) - 1)).to_bytes(length * 5 // 8, "big")
        return base64.b32encode(raw).decode().translate(_FROM_RFC4648)
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_id(prefix: str) -> str:
    """A short, time-ordered, random id such as ``run_0j4k2m9x3q7z1c8v``.

    48 bits of milliseconds then 32 random bits: sortable by creation time, unique
    enough for one store, and short enough to type on the command line.
    """
    ms = int(time.time() * 1000) & ((1 << 48) - 1)
    rnd = int.from_bytes(os.urandom(4), "big")
    return f"{prefix}_{_b32((ms << 32) | rnd, 16)}"


def new_run_id() -> RunId:
    """A new run id (``run_...``)."""
    return RunId(new_id("run"))


def new_review_id() -> ReviewId:
    """A new review id (``rev_...``)."""
    return ReviewId(new_id("rev"))
