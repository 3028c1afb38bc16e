"""Team-mode login for the app: the throttled check (db.login_audit) with the client and browser session it
came from, the wait after a failure, the message to show, and the audit list curators see.

`clock` and `sleep` are module attributes so tests can replace them: nothing in a test waits for real."""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import datetime

import streamlit as st

from db import accounts
from db.accounts.login_throttle import LoginPolicy
from db.store.clock import utc_now
from db.store.domain import LoginAttemptInfo, LoginOutcome

from .resources import session

log = logging.getLogger(__name__)

clock: Callable[[], datetime] = utc_now
sleep: Callable[[float], None] = time.sleep
FORWARDED_FOR = "X-Forwarded-For"


def session_id() -> str | None:
    """This browser session's id (None outside a script run)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx  # noqa: PLC0415

    ctx = get_script_run_ctx()
    return None if ctx is None else ctx.session_id


def client_identity() -> str:
    """Who is knocking, as well as the server can tell: the address the nearest proxy appended to
    X-Forwarded-For (the right-most one: a client can forge the others), else the connection's address, else
    the browser session (Streamlit reports no address for loopback connections)."""
    try:
        forwarded, connection = st.context.headers.get(FORWARDED_FOR), st.context.ip_address
    except Exception:  # noqa: BLE001 - outside a server (tests, scripts) there is no request to ask
        forwarded = connection = None
    address = forwarded.split(",")[-1].strip() if isinstance(forwarded, str) else ""
    if not address and isinstance(connection, str):  # (a test harness may stand in something else)
        address = connection.strip()
    return f"ip:{address}" if address else f"session:{session_id() or 'unknown'}"


def login(name: str, password: str) -> LoginOutcome:
    """One throttled login attempt, recorded; after a failure this waits the back-off before returning, so
    guessing stays slow even from many browser sessions (the account's count is kept in the store)."""
    with session() as s:
        outcome = accounts.attempt_login(s, name, password, client=client_identity(), session_id=session_id(),
                                      policy=LoginPolicy.from_env(), now=clock())
    if outcome.delay_seconds > 0:
        sleep(outcome.delay_seconds)
    return outcome


def refusal_message(outcome: LoginOutcome) -> str:
    """What a failed login says: never whether the name exists; when locked, until when."""
    if outcome.locked_until is None:
        return "Unknown user name or wrong password."
    minutes = max(1, math.ceil((outcome.locked_until - clock()).total_seconds() / 60))
    return (f"Too many failed log-ins for this user name or from this connection: log-in is locked until "
            f"{outcome.locked_until:%H:%M} UTC (about {minutes} min). Ask a curator if this was not you.")


def recent_attempts(limit: int = 200) -> list[LoginAttemptInfo]:
    """The latest login attempts, newest first (curators only: the page checks the role)."""
    with session() as s:
        return accounts.list_login_attempts(s, limit)
