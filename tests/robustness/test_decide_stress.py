"""Issue 12 item 3: `loopgate decide` never aborts after it succeeded.

`decide` used to print its result and then, now and then (3 of 208 calls), abort with
``terminate called after throwing an instance of ...`` / ``FATAL: exception not rethrown``
(exit -6): the decision applier, a daemon thread, was still inside DuckDB while Python shut
down. The journal now stops and joins it before the store closes. This test makes a few
hundred `decide` calls, each one a whole CLI process that ends as ``python -m runtime.cli``
ends, and asserts every one exits 0 with nothing on stderr and every decision applied.

Why not the zygote of ``tests/robustness`` as it is: its children end with ``os._exit``,
which skips the interpreter's shutdown (atexit handlers, finalization), the very place the
abort happened, so it could never show there. Why not plain subprocesses: a fresh
``python -m runtime.cli`` spends about 2 s importing on this machine, so 300 of them would
take ten minutes. So this module is also a small fork server (run as
``python -m tests.robustness.test_decide_stress``): like the zygote it imports the CLI once
and never opens a database, then forks one child per call; the child runs
``runtime.cli.main``, whose ``SystemExit`` rises to the top of the interpreter, so the child
exits exactly like a fresh ``loopgate decide``: atexit, then finalization with whatever
threads are left, and an abort would show as exit -6 with its message on stderr.

It does: with the journal's fix reverted (commit 81314a3), 8 of the 264 calls aborted with
exit -6 and "terminate called after throwing ..." / "FATAL: exception not rethrown".
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CALLS = 264  # decide calls in all; the abort was seen about once in 100-400
STREAMS = 2  # databases decided on side by side, one fork server each
MEDIAN_SECONDS = 1.5  # one call, open to exit (about 0.15 s on an idle machine)
WORKFLOW = """\
id: stress
name: Stress
input:
  amount: {type: number, required: true}
nodes:
  - {id: start, type: trigger}
  - id: check
    type: approval
    params: {team: managers, reason_codes: [too_much]}
  - {id: stamp, type: set, params: {values: {checked: true}}}
  - {id: paid, type: end, params: {result: approved}}
  - {id: refused, type: end, params: {result: rejected}}
edges:
  - {from: start, to: check}
  - {from: check, to: stamp, branch: approved}
  - {from: check, to: refused, branch: rejected}
  - {from: stamp, to: paid}
"""


# ---------------------------------------------------------------- the fork server


def _child(req: dict, out_path: str, err_path: str) -> None:
    """In the forked child: wire the files and run the CLI; its SystemExit is not caught,
    so the child ends through the interpreter's normal shutdown."""
    os.chdir(req["cwd"])
    fd_in = os.open(os.devnull, os.O_RDONLY)
    fd_out = os.open(out_path, os.O_WRONLY | os.O_TRUNC)
    fd_err = os.open(err_path, os.O_WRONLY | os.O_TRUNC)
    for fd, target in ((fd_in, 0), (fd_out, 1), (fd_err, 2)):
        os.dup2(fd, target)
        os.close(fd)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    from runtime.cli import main

    main(list(req["argv"]))  # raises SystemExit(code): up to the top, a normal exit


def _serve() -> None:
    """Answer one JSON line per request line: fork, wait (killing past ``timeout``)."""
    from runtime.cli import run_args

    with contextlib.redirect_stdout(io.StringIO()):
        run_args(["--help"])  # loads the command plugins once, before any fork
    # What `decide` imports on first use (the CLI imports lazily), imported before the forks.
    import runtime.engine
    import runtime.services
    import runtime.store  # noqa: F401
    from runtime.nodes import node_types

    node_types()
    # What is imported stays shared with the children: without this, each child's shutdown
    # walks (and so copies) the whole heap, a second per call.
    gc.freeze()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        work = tempfile.mkdtemp(prefix="decide-stress-")
        out_path, err_path = os.path.join(work, "out"), os.path.join(work, "err")
        for path in (out_path, err_path):
            open(path, "w").close()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            _child(req, out_path, err_path)
        deadline = started + float(req["timeout"])
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                _, status = os.waitpid(pid, 0)
                break
            time.sleep(0.002)
        seconds = time.monotonic() - started
        with open(out_path, encoding="utf-8", errors="replace") as fh:
            out = fh.read()
        with open(err_path, encoding="utf-8", errors="replace") as fh:
            err = fh.read()
        for path in (out_path, err_path):
            os.unlink(path)
        os.rmdir(work)
        answer = {
            "code": os.waitstatus_to_exitcode(status),
            "out": out,
            "err": err,
            "seconds": seconds,
        }
        print(json.dumps(answer), flush=True)


class Forker:
    """The fork server: ``run`` sends it one CLI call and returns what the child did."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.robustness.test_decide_stress"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        ready = self._proc.stdout.readline()
        assert json.loads(ready) == {"ready": True}, ready

    def run(self, argv: list[str], cwd: Path, timeout: float = 20.0) -> dict:
        """Run ``loopgate ARGV`` in a fresh child; its exit code, outputs and seconds."""
        self._proc.stdin.write(json.dumps({"argv": argv, "cwd": str(cwd), "timeout": timeout}))
        self._proc.stdin.write("\n")
        self._proc.stdin.flush()
        return json.loads(self._proc.stdout.readline())

    def close(self) -> None:
        """Stop the server."""
        self._proc.stdin.close()
        self._proc.wait(timeout=10)


# ---------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def forkers() -> Iterator[list[Forker]]:
    servers = [Forker() for _ in range(STREAMS)]
    yield servers
    for server in servers:
        server.close()


def _seed(db: Path, count: int) -> list[str]:
    """A database with `mia` and ``count`` runs waiting at their approval; the review ids."""
    from runtime.auth import add_user
    from runtime.engine import Engine
    from runtime.spec import loads_yaml
    from runtime.store import Store

    store = Store(db)
    try:
        add_user(store, "mia", roles=["reviewer"], teams=["managers"])
        engine = Engine(store)
        wf = engine.save_workflow(loads_yaml(WORKFLOW))
        results = engine.start_many(wf, [{"amount": i} for i in range(count)])
        assert all(r.status == "waiting" for r in results)
        store.checkpoint()
        return [r.review_id for r in results]
    finally:
        store.close()


def _abort_signs(call: dict) -> bool:
    text = call["out"] + call["err"]
    return call["code"] < 0 or any(
        s in text for s in ("terminate called", "FATAL", "Traceback", "internal error")
    )


def _stream(forker: Forker, folder: Path, seed: int) -> dict:
    """One database's calls, one after another: each review decided once, a few twice.

    Returns:
        The reviews and their actions, and the calls that aborted or went wrong.
    """
    per_stream = CALLS // STREAMS
    repeats = per_stream // 10  # deciding a review again: refused, and no abort either
    folder.mkdir()
    db = folder / "stress.duckdb"
    reviews = _seed(db, per_stream - repeats)
    rng = random.Random(seed)
    actions = {rid: rng.choice(["approve", "approve", "reject"]) for rid in reviews}
    plan = list(reviews) + rng.sample(reviews, repeats)
    rng.shuffle(plan)
    seen: set[str] = set()
    aborted, wrong, seconds = [], [], []
    for i, rid in enumerate(plan):
        argv = ["decide", rid, "--action", actions[rid], "--by", "mia", "--db", str(db)]
        if actions[rid] == "reject":
            argv += ["--reason", "too_much"]
        if i % 3 == 0:
            argv.append("--json")
        call = forker.run(argv, folder)
        seconds.append(call["seconds"])
        if _abort_signs(call):
            aborted.append((i, rid, call))
        elif rid in seen:  # a second decision: refused, naming who decided
            if call["code"] != 1 or "already decided by mia" not in call["err"]:
                wrong.append((i, rid, call))
        elif call["code"] != 0 or call["err"] or "succeeded" not in call["out"]:
            wrong.append((i, rid, call))
        seen.add(rid)
    return {
        "db": db,
        "actions": actions,
        "calls": len(plan),
        "aborted": aborted,
        "wrong": wrong,
        "seconds": seconds,
    }


def _check_applied(db: Path, actions: dict[str, str]) -> None:
    """Every review decided once by mia, its run finished the way the decision said."""
    from runtime.store import Store

    store = Store(db, read_only=True)
    try:
        rows = store.execute_readonly(
            "SELECT r.id, r.status, r.decided_by, u.status AS run_status, u.result "
            "FROM reviews r JOIN runs u ON u.id = r.run_id"
        )
        ok, _, _ = store.verify_audit_chain()
    finally:
        store.close()
    assert ok
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == set(actions)
    for rid, action in actions.items():
        row = by_id[rid]
        assert (row["status"], row["decided_by"], row["run_status"]) == (
            "decided",
            "mia",
            "succeeded",
        ), row
        assert row["result"] == ("approved" if action == "approve" else "rejected"), row


def test_hundreds_of_decide_calls_never_abort_and_each_is_applied(
    forkers: list[Forker], tmp_path: Path
) -> None:
    with ThreadPoolExecutor(STREAMS) as pool:
        streams = list(
            pool.map(lambda i: _stream(forkers[i], tmp_path / f"s{i}", 12 + i), range(STREAMS))
        )
    calls = sum(s["calls"] for s in streams)
    aborted = [a for s in streams for a in s["aborted"]]
    wrong = [w for s in streams for w in s["wrong"]]
    assert not aborted, f"{len(aborted)} of {calls} calls aborted; first: {aborted[0]}"
    assert not wrong, f"{len(wrong)} of {calls} calls went wrong; first: {wrong[0]}"
    # A call that waits on something (the applier's idle wait is 2 s) shows in the median.
    median = statistics.median(t for s in streams for t in s["seconds"])
    assert median < MEDIAN_SECONDS, f"a decide call takes {median:.2f} s (median)"
    for s in streams:
        _check_applied(s["db"], s["actions"])


if __name__ == "__main__":
    _serve()
