"""Bounded bad-input cases: each runs the CLI in a forked child with a memory limit and a
time limit, and must exit 1 with one clear stderr line per problem, inside its bounds.

``Bounded.run`` sends one case to the zygote (``tests/robustness/zygote.py``), which
forks a child for it. ``check`` asserts the project's bad-input rules: the exit code, no
traceback and no "internal error", each expected line present (each line is a tuple of
fragments that one stderr line must all contain), the time and the peak memory.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: Address-space limit of every case's child (MiB): DuckDB and scikit-learn map a lot of
#: virtual memory up front, so this is the ceiling, not the expectation (``peak_mb`` is).
MEM_LIMIT_MB = 4096
#: Peak resident memory a refused case may reach (MiB): the imports alone are ~250.
PEAK_MB = 700
#: Wall time a case may take (s); a case that runs over is killed and fails.
SECONDS = 10.0

Line = tuple  # fragments (str or compiled regex) that one stderr line must all contain


@dataclass(frozen=True)
class Outcome:
    """What one bounded CLI call did."""

    code: int
    out: str
    err: str
    seconds: float
    peak_mb: float
    timed_out: bool

    @property
    def lines(self) -> list[str]:
        """The non-blank stderr lines."""
        return [line for line in self.err.splitlines() if line.strip()]


@dataclass(frozen=True)
class Case:
    """One bad input: the CLI arguments, the files it needs and the stderr lines it must give.

    ``{dir}`` in ``argv`` and ``files`` is the case's folder; ``{db}`` a fresh database
    path (a copy of the seeded one when ``db`` is true). ``code`` is the exit code wanted.
    """

    id: str
    argv: tuple[str, ...]
    lines: tuple[Line, ...]
    files: dict[str, str | bytes] = field(default_factory=dict)
    db: bool = False
    stdin: str | None = None
    code: int = 1
    seconds: float = SECONDS
    peak_mb: float = PEAK_MB


class Bounded:
    """A running zygote; ``run`` sends it one CLI call and returns the ``Outcome``."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.robustness.zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        ready = self._proc.stdout.readline()
        assert json.loads(ready) == {"ready": True}, ready

    def run(
        self,
        argv: list[str],
        *,
        cwd: Path,
        stdin: str | None = None,
        seconds: float = SECONDS,
        mem_mb: int = MEM_LIMIT_MB,
        env: dict[str, str] | None = None,
    ) -> Outcome:
        """Run ``loopgate ARGV`` in a fresh bounded child of the zygote."""
        request = {
            "argv": argv,
            "cwd": str(cwd),
            "stdin": stdin,
            "timeout": seconds * 3,  # killed well past the bound; the bound is checked below
            "mem_mb": mem_mb,
            "env": env or {},
        }
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        return Outcome(**json.loads(self._proc.stdout.readline()))

    def close(self) -> None:
        """Stop the zygote."""
        self._proc.stdin.close()
        self._proc.wait(timeout=10)


def subst(text: str, subs: dict[str, str]) -> str:
    """Fill ``{name}`` placeholders for known names only (JSON braces stay as they are)."""
    return re.sub(r"\{(\w+)\}", lambda m: subs.get(m.group(1), m.group(0)), text)


def check(case: Case, outcome: Outcome, subs: dict[str, str]) -> None:
    """Assert the bad-input rules for ``case`` on what it did."""
    assert not outcome.timed_out, f"{case.id}: killed after {outcome.seconds:.1f} s"
    assert "Traceback" not in outcome.out + outcome.err, outcome.err
    assert "internal error" not in outcome.err, outcome.err
    assert outcome.code == case.code, (outcome.code, outcome.out, outcome.err)
    assert outcome.seconds <= case.seconds, f"{case.id}: took {outcome.seconds:.1f} s"
    assert outcome.peak_mb <= case.peak_mb, f"{case.id}: peak {outcome.peak_mb:.0f} MiB"
    expected = [
        tuple(subst(f, subs) if isinstance(f, str) else f for f in line) for line in case.lines
    ]
    lines = outcome.lines
    assert len(lines) == len(expected), f"expected {len(expected)} line(s):\n{outcome.err}"
    unmatched = list(lines)
    for fragments in expected:
        hit = [
            ln
            for ln in unmatched
            if all((f.search(ln) if isinstance(f, re.Pattern) else f in ln) for f in fragments)
        ]
        assert hit, f"no stderr line has all of {fragments}:\n{outcome.err}"
        unmatched.remove(hit[0])


def prepare(case: Case, folder: Path, seeded: Path | None) -> tuple[list[str], dict[str, str]]:
    """Write the case's files into ``folder``; return its argv and the placeholder values."""
    import shutil

    db = folder / "case.duckdb"
    if case.db:
        assert seeded is not None
        shutil.copy(seeded, db)
    subs = {"dir": str(folder), "db": str(db)}
    for name, content in case.files.items():
        target = folder / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(subst(content, subs), encoding="utf-8")
    return [subst(a, subs) for a in case.argv], subs
