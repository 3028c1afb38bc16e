"""Login attempts: every one recorded (name typed, client, session, time, outcome), and the counts that throttle
them (db.login_throttle): back-off after failures, a lock after too many, per account and per client.

During a lock the password is not even checked, so guessing then learns nothing; unknown names are throttled
like real ones, so the answers never tell which accounts exist."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..store import models as m
from ..store.clock import as_utc
from ..store.domain import LoginAttemptInfo, LoginOutcome
from .auth import authenticate
from .login_throttle import LoginPolicy

logger = logging.getLogger(__name__)

MAX_CLIENT_LENGTH = 200
MAX_SESSION_LENGTH = 64


def _last_success(session: Session, name: str) -> datetime | None:
    found = session.scalar(select(func.max(m.LoginAttemptRow.created_at))
                           .where(m.LoginAttemptRow.name == name, m.LoginAttemptRow.outcome == "success"))
    return None if found is None else as_utc(found)


def _failures(session: Session, where: Any, after: datetime | None, limit: int) -> list[datetime]:
    """Times of the latest failures matching `where` (after `after`, when given), newest first, at most `limit`."""
    query = select(m.LoginAttemptRow.created_at).where(where, m.LoginAttemptRow.outcome == "failure")
    if after is not None:
        query = query.where(m.LoginAttemptRow.created_at > after)
    return [as_utc(t) for t in session.scalars(query.order_by(m.LoginAttemptRow.created_at.desc()).limit(limit))]


def _lock_end(recent: list[datetime], threshold: int, lock: timedelta) -> datetime | None:
    """A lock runs from the failure that made `threshold` of them within one lock period: the newest, since no
    failure happens while locked (nothing is checked then). None when the failures do not add up to a lock."""
    if len(recent) >= threshold and recent[0] - recent[threshold - 1] <= lock:
        return recent[0] + lock
    return None


def _locked_until(account: list[datetime], client: list[datetime], policy: LoginPolicy) -> datetime | None:
    lock = timedelta(seconds=policy.lock_seconds)
    ends = [end for end in (_lock_end(account, policy.max_failures, lock),
                            _lock_end(client, policy.max_failures_per_client, lock)) if end is not None]
    return max(ends, default=None)


def attempt_login(session: Session, name: str, password: str, *, client: str, session_id: str | None,
                  policy: LoginPolicy, now: datetime) -> LoginOutcome:
    """Check a login under the throttle and record it; the caller waits `delay_seconds` before answering.

    The account's count restarts after its next successful login; the client's does not (an attacker's own
    account must not reset the count of guesses from that client)."""
    name, client = name.strip()[:100], client[:MAX_CLIENT_LENGTH]
    account_fails = _failures(session, m.LoginAttemptRow.name == name, _last_success(session, name), policy.max_failures)
    client_fails = _failures(session, m.LoginAttemptRow.client == client, None, policy.max_failures_per_client)
    locked_until = _locked_until(account_fails, client_fails, policy)
    if locked_until is not None and locked_until > now:
        _record(session, name, client, session_id, "locked", now)
        logger.warning("login for %r from %s refused: locked until %s", name, client, locked_until.isoformat())
        return LoginOutcome(None, 0.0, locked_until)
    account = authenticate(session, name, password)
    if account is not None:
        _record(session, name, client, session_id, "success", now)
        logger.info("login: %s from %s", name, client)
        return LoginOutcome(account)
    _record(session, name, client, session_id, "failure", now)
    window_start = now - timedelta(seconds=policy.lock_seconds)
    on_name = 1 + sum(t > window_start for t in account_fails)
    from_client = 1 + sum(t > window_start for t in client_fails)
    delay = max(policy.delay_after(on_name), policy.delay_after(from_client))
    logger.warning("failed login for %r from %s (%d recent on the name, %d from the client)",
                   name, client, on_name, from_client)
    return LoginOutcome(None, delay, _locked_until([now, *account_fails], [now, *client_fails], policy))


def _record(session: Session, name: str, client: str, session_id: str | None, outcome: str, now: datetime) -> None:
    session.add(m.LoginAttemptRow(name=name, client=client, session_id=session_id[:MAX_SESSION_LENGTH] if session_id else None,
                               outcome=outcome, created_at=now))
    session.flush()


def list_login_attempts(session: Session, limit: int = 200) -> list[LoginAttemptInfo]:
    """The latest attempts, newest first, for curators to audit."""
    rows = session.scalars(select(m.LoginAttemptRow).order_by(m.LoginAttemptRow.created_at.desc(), m.LoginAttemptRow.id.desc())
                           .limit(limit))
    return [LoginAttemptInfo(r.id, r.name, r.outcome, r.client, r.session_id, as_utc(r.created_at)) for r in rows]
