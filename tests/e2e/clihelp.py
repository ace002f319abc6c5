"""Running the `loopgate` CLI in a subprocess, as a user or a script would."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


def loopgate(db: Path, *args: str, check: bool = True, timeout: float = 120) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "runtime.cli", *args, "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    res = Result(proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in res.out + res.err, res.err
    if check:
        assert res.code == 0, f"loopgate {' '.join(args)} exited {res.code}: {res.err}"
    return res
