"""The HTTP API under /api (FastAPI): runs, reviews, decisions, health; bearer tokens per user.

It needs the ``app`` extra (FastAPI). The server mounts it next to the UI. Every read goes
through :mod:`runtime.queries` with the signed-in user, so the access rule applies.
The API does not import the CLI: the server hands it the function that runs a forwarded
command line (``run_cli``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from runtime.auth import user_for_token
from runtime.engine import BatchItemError, Engine, RunResult
from runtime.engine.starts import checked_item
from runtime.errors import (
    AccessError,
    DatabaseLockedError,
    DecisionError,
    ItemError,
    LoopgateError,
    NotFoundError,
    ReviewClaimedError,
    ReviewNotPendingError,
    SpecError,
    VoteError,
)
from runtime.nodes.base import Decision
from runtime.outbox import send_queued
from runtime.queries import catalog
from runtime.queries import reviews as review_queries
from runtime.queries import runs as run_queries
from runtime.queries import votes as vote_queries

log = logging.getLogger("loopgate.api")

#: The page bounds of the list endpoints: outside them a request is a 422 naming the
#: parameter (never a 500, never an unbounded read).
MAX_PAGE = 1000
MAX_OFFSET = 10**9
Limit = Annotated[
    int, Query(ge=1, le=MAX_PAGE, description=f"The most rows to return (1 to {MAX_PAGE}).")
]
Offset = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description=f"Rows to skip (0 to {MAX_OFFSET:,}).")
]

_STATUS = [
    (NotFoundError, 404),
    (AccessError, 403),
    (ReviewNotPendingError, 409),
    (ReviewClaimedError, 409),
    (VoteError, 409),
    (DecisionError, 422),
    (ItemError, 422),
    (SpecError, 422),
    (DatabaseLockedError, 503),
    (LoopgateError, 400),
]


class ForkRequest(BaseModel):
    """Where to fork a run and the decision there (the signed-in user forks)."""

    at: str = Field(
        max_length=200,
        description="A checkpoint's node id (the run's latest stop there) or a review id.",
    )
    decision: dict[str, Any] = Field(
        description='The decision at the checkpoint, as for a review: {"action": "reject", ...}.'
    )


class StartRequest(BaseModel):
    """One item, or many (a batch, group-committed)."""

    item: dict[str, Any] | None = None
    items: list[dict[str, Any]] | None = None
    version: int | None = Field(None, description="Workflow version (default: the newest).")


class DelegationRequest(BaseModel):
    """An out-of-office window: the user's reviews go to ``to`` from ``starts_at`` (default:
    now) until ``ends_at``, UTC."""

    to: str = Field(max_length=64)
    starts_at: datetime | None = None
    ends_at: datetime
    note: str | None = Field(None, max_length=500)


class CliRequest(BaseModel):
    """A command line a local CLI forwards to the server that holds the database."""

    argv: list[str]
    stdin: str | None = Field(None, max_length=64 * 1024)


class ChallengeRequest(BaseModel):
    """A local CLI's random challenge: the server proves it holds the hand-off secret."""

    nonce: str = Field(min_length=16, max_length=128, pattern=r"^[0-9a-f]+$")


RunCli = Callable[..., dict[str, Any]]
"""Runs a forwarded command line with the server's engine (``engine, argv``, and ``stdin``
when the CLI sent some); returns ``code``, ``stdout`` and ``stderr``
(``runtime.cli.forward.run_forwarded``)."""
ProveSecret = Callable[[str, str], str]
"""The answer to a CLI's challenge: ``(secret, nonce) -> proof``
(``runtime.cli.forward.challenge_proof``)."""

IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,200}$"  # printable ASCII, no spaces, up to 200 characters
# Two requests with the same key at once: the second waits for the first, then finds its
# runs (one server process holds the file, so a lock in this process is enough).
_START_LOCKS = [threading.Lock() for _ in range(64)]
_bearer = HTTPBearer(auto_error=False, description="A user's token from `loopgate users token`")


def idempotent_batch_id(user: str, workflow_id: str, key: str) -> str:
    """The batch id a start with an ``Idempotency-Key`` gets: the same user, workflow and key
    always give the same batch, so its runs are started once."""
    digest = hashlib.sha256(f"{user}\0{workflow_id}\0{key}".encode()).hexdigest()
    return f"idem-{digest[:32]}"


def _swagger_assets() -> Any:
    """The Swagger UI files of the ``swagger-ui-bundle`` package (served, never a CDN)."""
    from starlette.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    return StaticFiles(directory=swagger_ui_path)


def create_api(
    get_engine: Callable[[], Engine],
    get_secret: Callable[[], str | None],
    *,
    run_cli: RunCli | None = None,
    prove_secret: ProveSecret | None = None,
) -> FastAPI:
    """The API app.

    Args:
        get_engine: returns the server's engine once its lifespan opened it.
        get_secret: returns the secret of the server's hand-off file (None before it is
            written); a forwarding CLI must present it.
        run_cli: runs a command line a local CLI forwards (the server passes
            ``runtime.cli.forward.run_forwarded``). Without it, ``POST /cli`` answers 501.
        prove_secret: answers a CLI's challenge (the server passes
            ``runtime.cli.forward.challenge_proof``); without it ``POST /cli/challenge``
            answers 501.

    Returns:
        The FastAPI app, to mount on ``/api``.
    """
    api = FastAPI(title="Loopgate API", version="1", docs_url=None, openapi_url="/openapi.json")
    api.mount("/docs-assets", _swagger_assets(), name="docs-assets")

    @api.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title="Loopgate API",
            swagger_js_url=f"{root}/docs-assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs-assets/swagger-ui.css",
            swagger_favicon_url=f"{root}/docs-assets/favicon-32x32.png",
        )

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
        creds: HTTPAuthorizationCredentials | None = Depends(_bearer),
        eng: Engine = Depends(engine),
    ) -> dict:
        if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
            raise HTTPException(
                401, "send Authorization: Bearer <token> (see `loopgate users token`)"
            )
        try:
            return user_for_token(eng.store, creds.credentials.strip())
        except AccessError as exc:
            raise HTTPException(401, f"{exc}; ask an admin for a new one") from None

    @api.get("/health")
    def health(eng: Engine = Depends(engine)) -> dict[str, Any]:
        """Whether the server is up and how many reviews wait (no sign-in; no file paths)."""
        return {
            "status": "ok",
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
        idempotency_key: Annotated[
            str | None,
            Header(
                pattern=IDEMPOTENCY_KEY,
                description="Send the same key again (same user and workflow) to get the "
                "runs the first request started instead of new ones.",
            ),
        ] = None,
        user: dict = Depends(current_user),
        eng: Engine = Depends(engine),
    ) -> dict[str, Any]:
        """Start runs: the webhook trigger other systems call. With an ``Idempotency-Key``
        header, a retried request returns the runs the first one started."""
        if (body.item is None) == (body.items is None):
            raise HTTPException(422, "send exactly one of item or items")
        wf = eng.workflow(workflow_id, body.version)
        if idempotency_key is not None:
            return _start_once(eng, wf, body, user["name"], workflow_id, idempotency_key)
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
        limit: Limit = 100,
        offset: Offset = 0,
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
            limit=limit,
            offset=offset,
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

    @api.get("/reviews/{review_id}/votes")
    def votes(
        review_id: str, user: dict = Depends(current_user), eng: Engine = Depends(engine)
    ) -> dict[str, Any]:
        """Who has voted on a multi-approver review and what is still needed (``policy``
        is null for a review the first answer decides)."""
        status = vote_queries.vote_status(
            eng.store, review_queries.get_review(eng.store, user, review_id)
        )
        if status is None:
            return {"review_id": review_id, "policy": None, "votes": []}
        return {"review_id": review_id, **dataclasses.asdict(status), "badge": status.badge}

    @api.post("/reviews/{review_id}/claim")
    def claim(
        review_id: str, user: dict = Depends(current_user), eng: Engine = Depends(engine)
    ) -> dict[str, Any]:
        """Claim a pending review ("assign to me"); 409 naming the holder when someone
        else holds it."""
        return _holder(eng.assign(review_id, user["name"], by=user["name"]))

    @api.post("/reviews/{review_id}/release")
    def release(
        review_id: str, user: dict = Depends(current_user), eng: Engine = Depends(engine)
    ) -> dict[str, Any]:
        """Release a claimed review (its holder or an admin)."""
        return _holder(eng.assign(review_id, None, by=user["name"]))

    @api.put("/users/{name}/delegation")
    def set_delegation(
        name: str,
        body: DelegationRequest,
        user: dict = Depends(current_user),
        eng: Engine = Depends(engine),
    ) -> dict[str, Any]:
        """Set ``name``'s out-of-office delegate (``name`` itself or, for an admin, anyone);
        403 when the delegate could not decide ``name``'s reviews."""
        starts = _naive_utc(body.starts_at) if body.starts_at else eng.clock()
        row = eng.delegations.set(
            name, body.to, starts, _naive_utc(body.ends_at), by=user["name"], note=body.note
        )
        return jsonable_encoder(row)

    @api.delete("/users/{name}/delegation")
    def clear_delegation(
        name: str, user: dict = Depends(current_user), eng: Engine = Depends(engine)
    ) -> dict[str, Any]:
        """End ``name``'s delegation; ``cleared`` is false when there was none."""
        return {"user": name, "cleared": eng.delegations.clear(name, by=user["name"])}

    @api.get("/runs")
    def runs(
        status: str | None = None,
        workflow: str | None = None,
        limit: Limit = 100,
        offset: Offset = 0,
        user: dict = Depends(current_user),
        eng: Engine = Depends(engine),
    ) -> list[dict]:
        """The runs the user may see, newest first."""
        return run_queries.list_runs(
            eng.store,
            user,
            status=status,
            workflow_id=workflow,
            limit=limit,
            offset=offset,
        )

    @api.post("/runs/{run_id}/fork")
    def fork(
        run_id: str,
        body: ForkRequest,
        user: dict = Depends(current_user),
        eng: Engine = Depends(engine),
    ) -> dict[str, Any]:
        """Start a new run from a run's data at a checkpoint it stopped at, with the user's
        decision there; the original run is not changed (both trails link the runs)."""
        if not run_queries.may_see_run(eng.store, user, eng.store.get_run(run_id)):
            raise NotFoundError(f"run {run_id} does not exist in {eng.store.path}")
        result = eng.fork(run_id, body.at, body.decision, by=user["name"])
        send_queued(eng.store, log.warning)  # mail what the new run queued
        return result.model_dump(mode="json")

    @api.get("/runs/{run_id}")
    def run(
        run_id: str, user: dict = Depends(current_user), eng: Engine = Depends(engine)
    ) -> dict[str, Any]:
        """One run the user may see, with its audit events (404 for any other)."""
        detail = run_queries.run_detail(eng.store, user, run_id)
        return {**detail.run, "events": detail.events}

    @api.post("/cli/challenge", include_in_schema=False)
    def cli_challenge(body: ChallengeRequest) -> dict[str, str]:
        secret = get_secret()
        if prove_secret is None or not secret:
            raise HTTPException(501, "this server takes no forwarded CLI commands")
        return {"proof": prove_secret(secret, body.nonce)}

    @api.post("/cli", include_in_schema=False)
    def cli(
        body: CliRequest, x_loopgate_local: str | None = Header(None), eng: Engine = Depends(engine)
    ) -> dict[str, Any]:
        secret = get_secret()
        if not secret or not x_loopgate_local or not hmac.compare_digest(secret, x_loopgate_local):
            raise HTTPException(403, "local CLI secret missing or wrong")
        if run_cli is None:
            raise HTTPException(501, "this server runs no forwarded CLI commands (no run_cli)")
        if body.stdin is None:  # most commands read nothing; run_cli may take no stdin
            return run_cli(eng, body.argv)
        return run_cli(eng, body.argv, body.stdin)

    return api


def _naive_utc(at: datetime) -> datetime:
    """A time as the store keeps it: UTC without a zone (a naive one is taken as UTC)."""
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _holder(review: dict[str, Any]) -> dict[str, Any]:
    """What a claim or release answers: the review and who holds it now."""
    keys = ("id", "run_id", "workflow_id", "node_id", "team", "status", "assignee")
    return {("review_id" if k == "id" else k): review[k] for k in keys}


def _start_once(
    eng: Engine, wf: Any, body: StartRequest, user: str, workflow_id: str, key: str
) -> dict[str, Any]:
    """Start the request's runs under a batch derived from user, workflow and key: a
    repeated request gets the runs the first one started (and starts none)."""
    batch_id = idempotent_batch_id(user, workflow_id, key)
    if body.item is not None:
        checked_item(wf, body.item)  # a bad single item: 422 with its problems, as without a key
    with _START_LOCKS[int(batch_id[-8:], 16) % len(_START_LOCKS)]:
        items = [body.item] if body.item is not None else body.items or []
        results = eng.start_many(wf, items, by=user, batch_id=batch_id)
    runs = [r.model_dump(mode="json") for r in results if isinstance(r, RunResult)]
    if body.item is not None:
        return {"runs": runs}
    return {
        "runs": runs,
        "errors": [r.model_dump() for r in results if isinstance(r, BatchItemError)],
    }
