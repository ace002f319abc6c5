"""The HTTP API under /api (FastAPI): runs, reviews, decisions, health; bearer tokens per user.

It needs the ``app`` extra (FastAPI). The server mounts it next to the UI. Every read goes
through :mod:`runtime.queries` with the signed-in user, so the access rule applies.
The API does not import the CLI: the server hands it the function that runs a forwarded
command line (``run_cli``).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from runtime.auth import user_for_token
from runtime.engine import BatchItemError, Engine, RunResult
from runtime.errors import (
    AccessError,
    DatabaseLockedError,
    DecisionError,
    ItemError,
    LoopgateError,
    NotFoundError,
    ReviewNotPendingError,
    SpecError,
)
from runtime.nodes.base import Decision
from runtime.outbox import send_queued
from runtime.queries import catalog
from runtime.queries import reviews as review_queries
from runtime.queries import runs as run_queries

log = logging.getLogger("loopgate.api")
_STATUS = [
    (NotFoundError, 404),
    (AccessError, 403),
    (ReviewNotPendingError, 409),
    (DecisionError, 422),
    (ItemError, 422),
    (SpecError, 422),
    (DatabaseLockedError, 503),
    (LoopgateError, 400),
]


class StartRequest(BaseModel):
    """One item, or many (a batch, group-committed)."""

    item: dict[str, Any] | None = None
    items: list[dict[str, Any]] | None = None
    version: int | None = Field(None, description="Workflow version (default: the newest).")


class CliRequest(BaseModel):
    """A command line a local CLI forwards to the server that holds the database."""

    argv: list[str]


RunCli = Callable[[Engine, list[str]], dict[str, Any]]
"""Runs a forwarded command line with the server's engine; returns ``code``, ``stdout`` and
``stderr`` (``runtime.cli.forward.run_forwarded``)."""


def create_api(
    get_engine: Callable[[], Engine],
    get_secret: Callable[[], str | None],
    *,
    run_cli: RunCli | None = None,
) -> FastAPI:
    """The API app.

    Args:
        get_engine: returns the server's engine once its lifespan opened it.
        get_secret: returns the secret of the server's hand-off file (None before it is
            written); a forwarding CLI must present it.
        run_cli: runs a command line a local CLI forwards (the server passes
            ``runtime.cli.forward.run_forwarded``). Without it, ``POST /cli`` answers 501.

    Returns:
        The FastAPI app, to mount on ``/api``.
    """
    api = FastAPI(title="Loopgate API", version="1", docs_url="/docs", openapi_url="/openapi.json")

    @api.exception_handler(LoopgateError)
    async def _loopgate_error(request: Request, exc: LoopgateError) -> JSONResponse:
        status = next(code for cls, code in _STATUS if isinstance(exc, cls))
        body: dict[str, Any] = {"error": str(exc), "type": type(exc).__name__}
        problems = getattr(exc, "problems", None)
        if problems:
            body["problems"] = [p.model_dump() for p in problems]
        return JSONResponse(body, status_code=status)

    def engine() -> Engine:
        return get_engine()

    def current_user(
        authorization: str | None = Header(None), eng: Engine = Depends(engine)
    ) -> dict:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise HTTPException(
                401, "send Authorization: Bearer <token> (see `loopgate users token`)"
            )
        try:
            return user_for_token(eng.store, authorization.split(" ", 1)[1].strip())
        except AccessError as exc:
            raise HTTPException(401, str(exc)) from None

    @api.get("/health")
    def health(eng: Engine = Depends(engine)) -> dict[str, Any]:
        """Whether the server is up, its database and how many reviews wait (no sign-in)."""
        return {
            "status": "ok",
            "db": eng.store.path,
            "schema_version": eng.store.schema_version(),
            # No user here: the one figure health shows anyone, a count with no content.
            "pending_reviews": review_queries.count_pending_reviews(eng.store, None),
        }

    @api.get("/workflows")
    def workflows(user: dict = Depends(current_user), eng: Engine = Depends(engine)) -> list[dict]:
        """The newest version of every stored workflow."""
        return catalog.list_workflows(eng.store, user)

    @api.post("/workflows/{workflow_id}/runs")
    def start_runs(
        workflow_id: str,
        body: StartRequest,
        user: dict = Depends(current_user),
        eng: Engine = Depends(engine),
    ) -> dict[str, Any]:
        """Start runs: the webhook trigger other systems call."""
        if (body.item is None) == (body.items is None):
            raise HTTPException(422, "send exactly one of item or items")
        wf = eng.workflow(workflow_id, body.version)
        if body.item is not None:
            return {"runs": [eng.start(wf, body.item, by=user["name"]).model_dump(mode="json")]}
        results = eng.start_many(wf, body.items or [], by=user["name"])
        return {
            "runs": [r.model_dump(mode="json") for r in results if isinstance(r, RunResult)],
            "errors": [r.model_dump() for r in results if isinstance(r, BatchItemError)],
        }

    @api.get("/reviews")
    def reviews(
        team: str | None = None,
        workflow: str | None = None,
        node: str | None = None,
        priority: str | None = None,
        assignee: str | None = None,
        limit: int = 100,
        offset: int = 0,
        user: dict = Depends(current_user),
        eng: Engine = Depends(engine),
    ) -> list[dict]:
        """Pending reviews the user may see, most urgent and oldest first."""
        return review_queries.pending_reviews(
            eng.store,
            user,
            team=team,
            workflow_id=workflow,
            node_id=node,
            priority=priority,
            assignee=assignee,
            limit=min(limit, 1000),
            offset=max(offset, 0),
        )

    @api.post("/reviews/{review_id}/decision")
    def decide(
        review_id: str,
        decision: Decision,
        response: Response,
        wait: bool = True,
        user: dict = Depends(current_user),
        eng: Engine = Depends(engine),
    ) -> dict[str, Any]:
        """Decide a review. By default this answers once the run has reached its next stop,
        with where it stands. With ``wait=false`` it answers 202 as soon as the decision is
        durable (journaled), and the run goes on in the background."""
        if not wait:
            receipt = eng.record_decision(review_id, decision, by=user["name"])
            response.status_code = 202
            return receipt.model_dump(mode="json")
        result = eng.decide(review_id, decision, by=user["name"]).model_dump(mode="json")
        send_queued(eng.store, log.warning)  # mail what the run queued, now it is committed
        return result

    @api.get("/runs")
    def runs(
        status: str | None = None,
        workflow: str | None = None,
        limit: int = 100,
        offset: int = 0,
        user: dict = Depends(current_user),
        eng: Engine = Depends(engine),
    ) -> list[dict]:
        """The runs the user may see, newest first."""
        return run_queries.list_runs(
            eng.store,
            user,
            status=status,
            workflow_id=workflow,
            limit=min(limit, 1000),
            offset=max(offset, 0),
        )

    @api.get("/runs/{run_id}")
    def run(
        run_id: str, user: dict = Depends(current_user), eng: Engine = Depends(engine)
    ) -> dict[str, Any]:
        """One run the user may see, with its audit events (404 for any other)."""
        detail = run_queries.run_detail(eng.store, user, run_id)
        return {**detail.run, "events": detail.events}

    @api.post("/cli", include_in_schema=False)
    def cli(
        body: CliRequest, x_loopgate_local: str | None = Header(None), eng: Engine = Depends(engine)
    ) -> dict[str, Any]:
        secret = get_secret()
        if not secret or not x_loopgate_local or not hmac.compare_digest(secret, x_loopgate_local):
            raise HTTPException(403, "local CLI secret missing or wrong")
        if run_cli is None:
            raise HTTPException(501, "this server runs no forwarded CLI commands (no run_cli)")
        return run_cli(eng, body.argv)

    return api
