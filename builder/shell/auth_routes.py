"""The session cookie's routes: the server sets it HttpOnly, and sign-out revokes it.

Scripts in the page cannot read or set an HttpOnly cookie, so the app's sign-in form
(a Streamlit script) hands the browser a one-time ticket, and the browser trades it here:

* ``POST /auth/session`` with JSON ``{"ticket": ...}`` (or ``{"name": ..., "password": ...}``,
  throttled per user and per client address) sets ``lg_session`` (HttpOnly,
  SameSite=Strict, Path=/, Max-Age the session lifetime; Secure over https).
* ``GET /auth/session`` says who the cookie signs in (401 when nobody).
* ``POST /auth/signout`` revokes the cookie's sessions server-side and clears it.

Only JSON bodies are accepted, so another site's form cannot post here.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from builder.shell import resources, session
from runtime import AccessError
from runtime.auth import SignInThrottled, sign_in


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


async def _body(request: Request) -> dict[str, Any] | None:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return None
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _with_cookie(request: Request, response: JSONResponse, token: str, max_age: int) -> None:
    response.set_cookie(
        session.COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


async def create_session(request: Request) -> JSONResponse:
    """Trade a one-time ticket (or a name and password) for the HttpOnly session cookie."""
    tokens = session.tokens()
    if tokens is None:
        return _error(503, "the server is starting; try again in a moment")
    body = await _body(request)
    if body is None:
        return _error(415, 'send JSON: {"ticket": ...} or {"name": ..., "password": ...}')
    if isinstance(body.get("ticket"), str):
        token = tokens.redeem(body["ticket"])
        if token is None:
            return _error(401, "this sign-in ticket is unknown, used or expired; sign in again")
    elif isinstance(body.get("name"), str) and isinstance(body.get("password"), str):
        name = body["name"].strip().lower()
        address = request.client.host if request.client else None
        try:
            user = sign_in(
                resources.engine().store,
                name,
                body["password"],
                address=address,
                throttle=session.THROTTLE,
            )
        except SignInThrottled as exc:
            return _error(429, str(exc), **{"Retry-After": str(int(exc.retry_after) + 1)})
        except AccessError as exc:
            return _error(401, str(exc))
        token = tokens.issue(user["name"])
    else:
        return _error(400, 'send {"ticket": ...} or {"name": ..., "password": ...}')
    name = tokens.verify(token)
    response = JSONResponse({"user": name})
    _with_cookie(request, response, token, int(tokens.lifetime))
    return response


async def who(request: Request) -> JSONResponse:
    """Who the session cookie signs in; 401 for nobody (no, forged, expired, revoked)."""
    tokens = session.tokens()
    name = tokens.verify(request.cookies.get(session.COOKIE)) if tokens else None
    if name is None:
        return _error(401, "not signed in")
    return JSONResponse({"user": name})


async def sign_out(request: Request) -> JSONResponse:
    """Revoke the cookie's sessions (every cookie of its user) and clear the cookie."""
    tokens = session.tokens()
    name = tokens.verify(request.cookies.get(session.COOKIE)) if tokens else None
    if name is not None and tokens is not None:
        tokens.revoke(name)
    response = JSONResponse({"signed_out": name})
    _with_cookie(request, response, "", 0)
    return response


ROUTES = [
    Route("/auth/session", create_session, methods=["POST"]),
    Route("/auth/session", who, methods=["GET"]),
    Route("/auth/signout", sign_out, methods=["POST"]),
]
