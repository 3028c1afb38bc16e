"""Team-mode sign-in for the app: the throttled password check (db.accounts.login_audit) with the client it came
from, the wait after a failure, the message to show, the signed token that then stands for the sign-in (in an
HttpOnly cookie, app.session_cookie), its check on every script run, and the audit list curators see.

A Streamlit session id is never stored, logged or shown: presenting one re-attaches that session, so it is a
bearer secret. Where a client has no address (loopback), the audit gets a keyed hash of it instead.

`clock`, `sleep`, `browser_token` and `send_to_browser` are module attributes so tests can replace them:
nothing in a test waits for real, and an AppTest (which has no browser) can stand one in."""
from __future__ import annotations

import functools
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import streamlit as st

from app import session_cookie
from db import accounts
from db.store.clock import utc_now
from db.store.domain import AnnotatorInfo, LoginAttemptInfo, LoginOutcome
from engine.settings import SECRET_KEY_FILE, get_settings

from .resources import factory, session
from .team import require_curator

log = logging.getLogger(__name__)

clock: Callable[[], datetime] = utc_now
sleep: Callable[[float], None] = time.sleep
FORWARDED_FOR = "X-Forwarded-For"
LOOPBACK = ("127.0.0.1", "::1")
AUDIT_PAGE = 50
OUTCOMES = accounts.LOGIN_OUTCOMES


@functools.cache
def _key_from(path: Path) -> bytes:
    return accounts.load_secret_key(path)


def secret_key() -> bytes:
    """The server's secret key (db.accounts.secret_key), from DOCRE_SECRET_KEY_FILE or the data dir."""
    settings = get_settings()
    return _key_from(settings.secret_key_file or settings.data_dir / SECRET_KEY_FILE)


def session_id() -> str | None:
    """This browser session's id (None outside a script run). Never store, log or show it."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx  # noqa: PLC0415

    ctx = get_script_run_ctx()
    return None if ctx is None else ctx.session_id


def _request() -> tuple[str | None, str | None]:
    """The X-Forwarded-For header and the connection's address ("127.0.0.1" stands for loopback, which
    Streamlit reports as no address); (None, None) outside a server."""
    try:
        forwarded, connection = st.context.headers.get(FORWARDED_FOR), st.context.ip_address
        in_server = bool(st.context.headers)
    except Exception:  # noqa: BLE001 - outside a server (tests, scripts) there is no request to ask
        return None, None
    if not isinstance(connection, str) or not connection.strip():
        connection = LOOPBACK[0] if in_server else None
    return (forwarded if isinstance(forwarded, str) else None), connection


def _trusted(address: str, proxies: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for proxy in proxies:
        if proxy == "loopback":
            if ip.is_loopback:
                return True
            continue
        try:
            if ip in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(forwarded: str | None, connection: str | None, proxies: tuple[str, ...]) -> str | None:
    """Who is knocking: the connection's address, unless it is a proxy named in DOCRE_TRUSTED_PROXIES; then the
    right-most X-Forwarded-For entry that is not itself a trusted proxy (a client can forge the ones left of
    it). A forwarded header from anyone else is ignored, so rotating it buys no fresh client."""
    if connection is None:
        return None
    if forwarded is None or not _trusted(connection, proxies):
        return connection
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if not _trusted(hop, proxies):
            return hop
    return connection


def client_identity() -> str:
    """The throttle's and audit's name for the client: its address, else a keyed hash of the browser session."""
    forwarded, connection = _request()
    address = client_address(forwarded, connection, get_settings().trusted_proxies)
    if address:
        return f"ip:{address}"
    return f"session:{accounts.keyed_hash(secret_key(), 'session', session_id() or 'unknown')}"


def login(name: str, password: str) -> LoginOutcome:
    """One throttled login attempt, recorded; after a failure this waits the back-off before returning, so
    guessing stays slow even from many browser sessions (the counts are kept in the store)."""
    outcome = accounts.attempt_login(factory(), name, password, client=client_identity(),
                                     policy=accounts.LoginPolicy.from_env(), now=clock())
    if outcome.delay_seconds > 0:
        sleep(outcome.delay_seconds)
    return outcome


def refusal_message(outcome: LoginOutcome) -> str:
    """What a failed login says: never whether the name exists; when locked, until when."""
    if outcome.locked_until is None:
        return "Unknown user name or wrong password."
    minutes = max(1, math.ceil((outcome.locked_until - clock()).total_seconds() / 60))
    return (f"Too many failed log-ins for this user name, from this connection or on this server: log-in is "
            f"locked until {outcome.locked_until:%H:%M} UTC (about {minutes} min). Ask a curator if this was not you.")


# ------------------------------------------------------------------ the signed token in the browser

def lifetime() -> timedelta:
    return timedelta(hours=get_settings().session_hours)


def browser_token() -> str | None:
    """The sign-in cookie the browser sent with this connection's handshake, if any."""
    try:
        token = st.context.cookies.get(session_cookie.COOKIE)
    except Exception:  # noqa: BLE001 - outside a server there are no cookies
        return None
    return token if isinstance(token, str) else None


def send_to_browser(html: str) -> None:
    """Run a small script of ours in the page (the cookie exchange); never user text."""
    st.html(html, unsafe_allow_javascript=True)


def start_sign_in(account: AnnotatorInfo) -> None:
    """After a password check: a token for the account, handed to the browser as a one-time grant it trades
    for the HttpOnly cookie; the page then reloads and signs in from the cookie."""
    token = accounts.issue_token(secret_key(), account, clock(), lifetime())
    send_to_browser(session_cookie.exchange_script(session_cookie.grant(token, int(lifetime().total_seconds()))))


def signed_in_account() -> AnnotatorInfo | None:
    """The account this connection's cookie signs in, checked against the account's row now (exists, enabled,
    same token version), with its current role; None without a valid cookie."""
    token = browser_token()
    if not token:
        return None
    with session() as s:
        return accounts.token_account(s, secret_key(), token, clock())


def log_out(name: str) -> None:
    """Sign the account out everywhere (its tokens are revoked) and clear this browser's cookie."""
    with session() as s:
        accounts.revoke_sessions(s, name, actor=name)
    send_to_browser(session_cookie.clear_script())


# ------------------------------------------------------------------ the curators' audit

def recent_attempts(by: str | None, *, limit: int = AUDIT_PAGE, offset: int = 0, name: str | None = None,
                    outcome: str | None = None) -> tuple[list[LoginAttemptInfo], int]:
    """A page of login attempts, newest first, filtered by name and outcome, and how many match; only for a
    curator (the stored role, checked now)."""
    with session() as s:
        require_curator(s, by, "see the log-in attempts")
        return accounts.list_login_attempts(s, limit, offset, name=name, outcome=outcome)
