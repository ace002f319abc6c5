"""The HTTP API under /api (FastAPI): runs, reviews, decisions, health; bearer tokens per user.

It needs the ``app`` extra (FastAPI). The server mounts it next to the UI.
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
from runtime.forward import run_forwarded
from runtime.nodes.base import Decision
from runtime.outbox import send_queued

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
    argv: list[str]


def create_api(get_engine: Callable[[], Engine], get_secret: Callable[[], str | None]) -> FastAPI:
    """The API app. ``get_engine`` returns the server's engine once its lifespan opened it."""
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
        return {
            "status": "ok",
            "db": eng.store.path,
            "schema_version": eng.store.schema_version(),
            "pending_reviews": eng.store.count_pending_reviews(),
        }

    @api.get("/workflows")
    def workflows(user: dict = Depends(current_user), eng: Engine = Depends(engine)) -> list[dict]:
        return eng.store.list_workflows()

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
        limit: int = 100,
        user: dict = Depends(current_user),
        eng: Engine = Depends(engine),
    ) -> list[dict]:
        teams = None if "admin" in user["roles"] else list(user["teams"])
        return eng.store.list_pending_reviews(
            team=team, teams=teams, workflow_id=workflow, limit=min(limit, 1000)
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
        user: dict = Depends(current_user),
        eng: Engine = Depends(engine),
    ) -> list[dict]:
        return eng.store.list_runs(status=status, workflow_id=workflow, limit=min(limit, 1000))

    @api.get("/runs/{run_id}")
    def run(
        run_id: str, user: dict = Depends(current_user), eng: Engine = Depends(engine)
    ) -> dict[str, Any]:
        return {**eng.store.get_run(run_id), "events": eng.store.run_events(run_id)}

    @api.post("/cli", include_in_schema=False)
    def cli(
        body: CliRequest, x_loopgate_local: str | None = Header(None), eng: Engine = Depends(engine)
    ) -> dict[str, Any]:
        secret = get_secret()
        if not secret or not x_loopgate_local or not hmac.compare_digest(secret, x_loopgate_local):
            raise HTTPException(403, "local CLI secret missing or wrong")
        return run_forwarded(eng, body.argv)

    return api
