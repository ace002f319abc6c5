"""The bounded-case worker: imports the CLI once, then forks one child per case.

Run by ``tests/robustness/harness.py`` as ``python -m tests.robustness.zygote``. It reads
one JSON request per line on stdin and answers one JSON line on stdout. Each case runs in
a fresh forked child with an address-space limit (``resource.setrlimit``), its own working
directory and stdin, stdout and stderr in files; the parent kills it when it runs over its
time. The answer carries the exit code, both outputs, the wall time and the child's peak
resident memory (from ``os.wait4``).

The zygote itself never opens a database, so forking it is safe.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import tempfile
import time


def _child(req: dict, out_path: str, err_path: str, in_path: str) -> None:
    """In the forked child: limit memory, wire the files, run the CLI, exit with its code."""
    limit = int(req["mem_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.chdir(req["cwd"])
    for key, value in (req.get("env") or {}).items():
        os.environ[key] = value
    fd_in = os.open(in_path, os.O_RDONLY)
    fd_out = os.open(out_path, os.O_WRONLY | os.O_TRUNC)
    fd_err = os.open(err_path, os.O_WRONLY | os.O_TRUNC)
    os.dup2(fd_in, 0)
    os.dup2(fd_out, 1)
    os.dup2(fd_err, 2)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    code = 0
    try:
        from runtime.cli import main

        main(list(req["argv"]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # the point of the corpus is to see this never happens
        import traceback

        traceback.print_exc()
        code = 70
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _run(req: dict) -> dict:
    """Fork a child for one request and wait for it within its time limit."""
    work = tempfile.mkdtemp(prefix="zygote-")
    out_path, err_path, in_path = (os.path.join(work, n) for n in ("out", "err", "in"))
    for path in (out_path, err_path):
        open(path, "w").close()
    with open(in_path, "w", encoding="utf-8") as fh:
        fh.write(req.get("stdin") or "")
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        _child(req, out_path, err_path, in_path)
    timed_out = False
    deadline = started + float(req["timeout"])
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            break
        time.sleep(0.005)
    seconds = time.monotonic() - started
    with open(out_path, encoding="utf-8", errors="replace") as fh:
        out = fh.read()
    with open(err_path, encoding="utf-8", errors="replace") as fh:
        err = fh.read()
    for path in (out_path, err_path, in_path):
        os.unlink(path)
    os.rmdir(work)
    return {
        "code": os.waitstatus_to_exitcode(status),
        "out": out,
        "err": err,
        "seconds": seconds,
        "peak_mb": usage.ru_maxrss / 1024,
        "timed_out": timed_out,
    }


def main() -> None:
    """Serve requests until stdin closes."""
    import runtime.cli
    import runtime.engine  # noqa: F401

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(_run(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
