"""`loopgate serve`: one process serving the UI (st.App), the API on /api and the sweeper."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import click
import streamlit as st
from starlette.routing import Mount

from builder.shell import resources
from builder.shell.auth_routes import ROUTES as AUTH_ROUTES
from runtime import Engine, LoopgateError, open_engine
from runtime.api import create_api
from runtime.cli.forward import (
    challenge_proof,
    check_server_file_path,
    remove_server_file,
    run_forwarded,
    write_server_file,
)
from runtime.models.retrain_job import start_retrain_job
from runtime.outbox import OutboxDispatcher
from runtime.seed import needs_seed, seed_demo
from runtime.settings import default_db_path

APP_SCRIPT = Path(__file__).resolve().parents[2] / "app.py"
log = logging.getLogger("loopgate.server")


class Sweeper(threading.Thread):
    """Applies deadlines and sends the outbox every ``interval`` seconds while the server runs.

    Args:
        engine: the server's engine.
        interval: seconds between rounds.
    """

    def __init__(self, engine: Engine, interval: float):
        super().__init__(name="loopgate-sweeper", daemon=True)
        self.engine = engine
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        """Sweep and send until :attr:`stopped` is set; a failed round is logged, not fatal."""
        while not self.stopped.wait(self.interval):
            try:
                report = self.engine.sweep()
                if report.runs or report.reminded or report.reassigned:
                    log.info(
                        "sweep: %d deadline(s) applied, %d reminder(s), %d reassignment(s)",
                        len(report.runs),
                        len(report.reminded),
                        len(report.reassigned),
                    )
            except Exception:  # keep sweeping; the next round may succeed
                log.exception("sweep failed")
            self.send_outbox()

    def send_outbox(self) -> None:
        """Send queued messages; one that fails stays in the outbox for a later round."""
        try:
            results = OutboxDispatcher(self.engine.store).send_pending()
        except Exception:
            log.exception("outbox failed")
            return
        failed = [r for r in results if r.status != "sent"]
        if results:
            log.info(
                "outbox: %d sent, %d failed%s",
                len(results) - len(failed),
                len(failed),
                f" ({failed[-1].error})" if failed else "",
            )


def create_app(db: Path, url: str, *, seed: bool = True, sweep_interval: float = 30.0) -> st.App:
    """The ASGI app: Streamlit pages plus the API, with the store opened in the lifespan.

    Args:
        db: the database file.
        url: the address the server answers on (written to the server file for the CLI).
        seed: add the examples and demo accounts to a new database.
        sweep_interval: seconds between deadline sweeps.

    Returns:
        The app; ``app.run()`` serves it.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: st.App) -> AsyncIterator[None]:
        engine = open_engine(str(db), wait=5)
        if seed and needs_seed(engine):
            counts = seed_demo(engine)
            log.info("seeded %s", counts)
        secret = write_server_file(db, url)
        resources.set_engine(engine, secret)
        sweeper = Sweeper(engine, sweep_interval)
        sweeper.start()
        retrain = start_retrain_job(engine)  # LOOPGATE_RETRAIN_AFTER; off by default
        try:
            yield
        finally:
            sweeper.stopped.set()
            if retrain is not None:
                retrain.stopped.set()
            remove_server_file(db)
            resources.set_engine(None)
            engine.store.close()

    def on_script_error(exc: Exception) -> bool:
        # Never a traceback in the UI: log it, show a message that says what to do.
        log.error("page error", exc_info=exc)
        st.error(
            f"Something went wrong on this page ({type(exc).__name__}: {exc}). Nothing was "
            "lost; reload the page, and report it if it happens again."
        )
        return True

    api = create_api(
        resources.engine, resources.secret, run_cli=run_forwarded, prove_secret=challenge_proof
    )
    return st.App(
        str(APP_SCRIPT),
        lifespan=lifespan,
        routes=[*AUTH_ROUTES, Mount("/api", app=api)],
        on_script_error=on_script_error,
    )


@click.command("serve")
@click.option("--port", type=int, default=8501, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    default=None,
    help="The database file (default: $LOOPGATE_DB or ./loopgate.duckdb).",
)
@click.option(
    "--no-seed", is_flag=True, help="Do not add the examples and demo accounts to a new database."
)
@click.option(
    "--sweep-interval",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds between deadline sweeps.",
)
def serve_command(
    port: int, host: str, db: str | None, no_seed: bool, sweep_interval: float
) -> None:
    """Start the app: UI, HTTP API (/api, docs at /api/docs) and the deadline sweeper."""
    path = Path(db or default_db_path()).resolve()
    os.environ["LOOPGATE_DB"] = str(path)
    # Fail early and clearly if another process holds the file, or if the hand-off file's
    # path is a link (someone may have planted it to have the secret written elsewhere).
    try:
        check_server_file_path(path)
        open_engine(str(path)).store.close()
    except LoopgateError as exc:
        raise click.ClickException(str(exc)) from None
    url = f"http://{host}:{port}"
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    click.echo(f"Loopgate on {url}  (database {path}; API docs {url}/api/docs)")
    app = create_app(path, url, seed=not no_seed, sweep_interval=sweep_interval)
    app.run(
        config={
            "server.port": port,
            "server.address": host,
            "server.headless": True,
            "browser.gatherUsageStats": False,
            "server.fileWatcherType": "none",
            "client.toolbarMode": "minimal",
            "client.showErrorDetails": "none",
        }
    )
