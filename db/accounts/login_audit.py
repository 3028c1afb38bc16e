"""Login attempts: every one recorded (name, client, time, outcome), and the counts that throttle them
(db.accounts.login_throttle): back-off after failures, a lock after too many, per account, per client and overall.

Counting and checking are atomic: each attempt first updates the one `login_gate` row, which holds a row lock
(PostgreSQL) or the write lock (SQLite) until the attempt is counted and recorded, provisionally, as a failure;
only then, with the lock released, is the password checked (scrypt is slow), and a match turns the record into
a success. So N parallel attempts never get more password checks than the cap, and a process that dies
mid-check leaves a failure. During a lock the password is not even checked, so guessing then learns nothing;
unknown names are throttled like real ones, so the answers never tell which accounts exist. Names are counted
after NFKC normalisation and case folding (db.store.names), so `Carol` and `CAROL` share one count."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from ..store import models as m
from ..store.clock import as_utc
from ..store.domain import LoginAttemptInfo, LoginOutcome
from ..store.errors import StoreError
from ..store.filters import check_choice, check_paging
from ..store.names import name_key
from ..store.session import session_scope
from .auth import authenticate
from .login_throttle import LoginPolicy

logger = logging.getLogger(__name__)

MAX_CLIENT_LENGTH = 200
LOGIN_OUTCOMES = m.LOGIN_OUTCOMES


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


def _lock_end(recent: list[datetime], threshold: int, lock: timedelta, *, window_end: bool = False) -> datetime | None:
    """A lock runs from the failure that made `threshold` of them within one lock period: the newest, since no
    failure happens while locked (nothing is checked then). None when the failures do not add up to a lock.
    With `window_end` (the overall rate) it ends instead when the oldest of those leaves the window."""
    if len(recent) >= threshold and recent[0] - recent[threshold - 1] <= lock:
        return (recent[threshold - 1] if window_end else recent[0]) + lock
    return None


def _enter_gate(session: Session) -> None:
    """Take the login lock for the rest of this transaction (see the module docstring); without its row (a
    schema not made by the migrations) no login is checked at all, rather than checked unlocked."""
    done = session.execute(update(m.LoginGateRow).where(m.LoginGateRow.id == 1)
                           .values(attempts=m.LoginGateRow.attempts + 1))
    if done.rowcount != 1:
        raise StoreError("the login_gate table has no row 1, so logins cannot be counted safely; run "
                         "`python -m db upgrade` (the migration creates it)")


def _locks(account: list[datetime], client: list[datetime], everyone: list[datetime],
           policy: LoginPolicy) -> datetime | None:
    """When the latest lock that the failures add up to ends (per account, per client, overall), else None."""
    lock = timedelta(seconds=policy.lock_seconds)
    ends = [_lock_end(account, policy.max_failures, lock), _lock_end(client, policy.max_failures_per_client, lock),
            _lock_end(everyone, policy.max_failures_global, timedelta(seconds=policy.global_window_seconds),
                      window_end=True)]
    return max((e for e in ends if e is not None), default=None)


def attempt_login(factory: sessionmaker[Session], name: str, password: str, *, client: str, policy: LoginPolicy,
                  now: datetime) -> LoginOutcome:
    """Check a login under the throttle and record it; the caller waits `delay_seconds` before answering.

    Two transactions: the locked count and provisional record, then the password check. The account's count
    restarts after its next successful login; the client's does not (an attacker's own account must not reset
    the count of guesses from that client)."""
    key, client = name_key(name)[:100], client[:MAX_CLIENT_LENGTH]
    with session_scope(factory) as session:
        _enter_gate(session)
        account_fails = _failures(session, m.LoginAttemptRow.name == key, _last_success(session, key),
                                  policy.max_failures)
        client_fails = _failures(session, m.LoginAttemptRow.client == client, None, policy.max_failures_per_client)
        everyone = _failures(session, true(), now - timedelta(seconds=policy.global_window_seconds),
                             policy.max_failures_global)
        locked_until = _locks(account_fails, client_fails, everyone, policy)
        if locked_until is not None and locked_until > now:
            _record(session, key, client, "locked", now)
            logger.warning("login for %r from %s refused: locked until %s", key, client, locked_until.isoformat())
            return LoginOutcome(None, 0.0, locked_until)
        attempt_id = _record(session, key, client, "failure", now)  # counted before the check: see above
    with session_scope(factory) as session:
        account = authenticate(session, name, password)
        if account is not None:
            session.execute(update(m.LoginAttemptRow).where(m.LoginAttemptRow.id == attempt_id)
                            .values(outcome="success"))
            logger.info("login: %s from %s", account.name, client)
            return LoginOutcome(account)
    window_start = now - timedelta(seconds=policy.lock_seconds)
    on_name = 1 + sum(t > window_start for t in account_fails)
    from_client = 1 + sum(t > window_start for t in client_fails)
    delay = max(policy.delay_after(on_name), policy.delay_after(from_client))
    logger.warning("failed login for %r from %s (%d recent on the name, %d from the client)",
                   key, client, on_name, from_client)
    return LoginOutcome(None, delay, _locks([now, *account_fails], [now, *client_fails], [now, *everyone], policy))


def _record(session: Session, name: str, client: str, outcome: str, now: datetime) -> int:
    row = m.LoginAttemptRow(name=name, client=client, outcome=outcome, created_at=now)
    session.add(row)
    session.flush()
    return row.id


def list_login_attempts(session: Session, limit: int = 200, offset: int = 0, *, name: str | None = None,
                        outcome: str | None = None) -> tuple[list[LoginAttemptInfo], int]:
    """A page of attempts, newest first, for curators to audit, optionally only those on names containing `name`
    (compared as names are: case folded) or with one outcome; and how many match in all."""
    check_paging(limit, offset)
    where: list[Any] = []
    if name and name.strip():
        needle = name_key(name).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(m.LoginAttemptRow.name.like(f"%{needle}%", escape="\\"))
    if outcome:
        where.append(m.LoginAttemptRow.outcome == check_choice("outcome", outcome, LOGIN_OUTCOMES))
    total = session.scalar(select(func.count()).select_from(m.LoginAttemptRow).where(*where)) or 0
    rows = session.scalars(select(m.LoginAttemptRow).where(*where)
                           .order_by(m.LoginAttemptRow.created_at.desc(), m.LoginAttemptRow.id.desc())
                           .limit(limit).offset(offset))
    return [LoginAttemptInfo(r.id, r.name, r.outcome, r.client, as_utc(r.created_at)) for r in rows], total
