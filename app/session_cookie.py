"""The HttpOnly cookie that carries a team-mode sign-in (a signed, expiring token, db.session_tokens), and the
one HTTP route that sets and clears it.

Why a route of our own: Streamlit scripts talk to the browser over a websocket and cannot set cookies, and a
cookie set by page JavaScript cannot be HttpOnly (page scripts could read and leak it). Streamlit's own auth
cookie belongs to its OIDC login (st.login), which DocRE's password accounts do not use. So the app runs as an
`st.App` (app/server.py) with this route beside Streamlit's: after a password check, the script hands the
browser a one-time grant (random, valid for a minute, kept only in this process's memory); the page POSTs it
here and gets the token back as `Set-Cookie: HttpOnly; SameSite=Strict`, then reloads. The browser sends the
cookie with the websocket handshake, where st.context.cookies reads it on every script run, so a sign-in
survives a reload and a session re-attached by its id alone (without the cookie) is signed out."""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

COOKIE = "docre_session"
ROUTE = "_docre/session"
GRANT_SECONDS = 60.0


@dataclass(frozen=True)
class _Grant:
    token: str
    max_age: int
    expires: float


_grants: dict[str, _Grant] = {}
_lock = threading.Lock()


def grant(token: str, max_age: int) -> str:
    """A one-time code the page exchanges for the cookie holding `token` (valid GRANT_SECONDS)."""
    code = secrets.token_urlsafe(32)
    now = time.monotonic()
    with _lock:
        for stale in [c for c, g in _grants.items() if g.expires < now]:
            del _grants[stale]
        _grants[code] = _Grant(token, max_age, now + GRANT_SECONDS)
    return code


def redeem(code: str) -> _Grant | None:
    """The grant for `code`, once: a second use, or a use after a minute, gets None."""
    with _lock:
        found = _grants.pop(code, None)
    return found if found is not None and found.expires >= time.monotonic() else None


def _cookie_header(value: str, max_age: int, secure: bool) -> str:
    return (f"{COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict"
            + ("; Secure" if secure else ""))


async def _session_endpoint(request):  # starlette.requests.Request -> Response
    """POST grant=CODE: set the cookie (204), or 403 for an unknown or used code. DELETE: clear the cookie."""
    from starlette.responses import Response  # noqa: PLC0415 - only inside the server

    secure = request.url.scheme == "https"
    if request.method == "DELETE":
        return Response(status_code=204, headers={"Set-Cookie": _cookie_header("", 0, secure),
                                                  "Cache-Control": "no-store"})
    body = (await request.body())[:200].decode("ascii", "replace")
    code = body.removeprefix("grant=")
    found = redeem(code) if code else None
    if found is None:
        return Response("unknown or expired sign-in grant", status_code=403, headers={"Cache-Control": "no-store"})
    return Response(status_code=204, headers={"Set-Cookie": _cookie_header(found.token, found.max_age, secure),
                                              "Cache-Control": "no-store"})


def routes(base_url_path: str = "") -> list:
    """The Starlette route, under Streamlit's server.baseUrlPath when one is set."""
    from starlette.routing import Route  # noqa: PLC0415

    base = base_url_path.strip("/")
    return [Route(f"/{base + '/' if base else ''}{ROUTE}", _session_endpoint, methods=["POST", "DELETE"])]


def exchange_script(code: str) -> str:
    """The page script that trades the grant for the cookie, then reloads so the next connection carries it."""
    return ("<script>fetch('" + ROUTE + "', {method: 'POST', credentials: 'same-origin', headers: "
            "{'Content-Type': 'text/plain'}, body: 'grant=" + code + "'}).then(function (r) { if (r.ok) "
            "window.location.reload(); });</script>")


def clear_script() -> str:
    """The page script that clears the cookie, then reloads."""
    return ("<script>fetch('" + ROUTE + "', {method: 'DELETE', credentials: 'same-origin'}).then(function () "
            "{ window.location.reload(); });</script>")
