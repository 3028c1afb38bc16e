"""Team-mode accounts: passwords kept only as salted scrypt hashes (hashlib.scrypt), compared in constant time.

A stored hash reads `scrypt$N$r$p$salt$key` (salt and key in base64), so the cost can be raised later without
breaking old accounts. No secret lives in the code: each hash carries its own random salt."""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os

from sqlalchemy.orm import Session

from ..store import models as m
from ..store.clock import utc_now
from ..store.domain import AnnotatorInfo
from ..store.errors import DuplicateError, NotFoundError
from ..store.names import check_new_name, find_annotator
from ..store.queries.account_events import CLI_ACTOR, record_account_event
from ..store.queries.annotators import check_name, check_role, to_info
from .passwords import check_password

logger = logging.getLogger(__name__)

SCHEME = "scrypt"
N, R, P = 2**15, 8, 1  # ~32 MiB and ~0.1 s per hash: slow for guessing, fine for a login
SALT_BYTES, KEY_BYTES = 16, 64


def _scrypt(password: str, salt: bytes, *, n: int = N, r: int = R, p: int = P, dklen: int = KEY_BYTES) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen,
                          maxmem=2 * 128 * r * n + 1024 * 1024)


def hash_password(password: str, name: str | None = None) -> str:
    """A fresh salted hash (the same password hashes differently every time), only of a password that meets
    the rule (db.accounts.passwords), so no weak password is ever stored."""
    check_password(password, name)
    salt = os.urandom(SALT_BYTES)
    key = _scrypt(password, salt)
    b64 = base64.b64encode
    return f"{SCHEME}${N}${R}${P}${b64(salt).decode()}${b64(key).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` produces `stored`; a malformed stored hash never verifies."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != SCHEME:
            return False
        expected = base64.b64decode(key, validate=True)
        actual = _scrypt(password, base64.b64decode(salt, validate=True), n=int(n), r=int(r), p=int(p),
                         dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def create_user(session: Session, name: str, role: str, password: str, *, actor: str = CLI_ACTOR) -> AnnotatorInfo:
    """A team-mode account; an annotator already known by that name (from local mode) gets the password. A new
    name that reads like an existing one, or mixes look-alike scripts, is refused (db.store.names)."""
    name, role = check_name(name), check_role(role)
    password_hash = hash_password(password, name)
    row = find_annotator(session, name)
    if row is not None and row.password_hash is not None:
        raise DuplicateError(f"user {row.name!r} exists already; use set_password to change the password")
    if row is None:
        check_new_name(name)
        row = m.AnnotatorRow(name=name, role=role, created_at=utc_now())
        session.add(row)
    row.role, row.password_hash = role, password_hash
    session.flush()
    record_account_event(session, row.name, actor, "created", f"role {role}")
    logger.info("user %s created with role %s", row.name, role)
    return to_info(row)


def _account(session: Session, name: str) -> m.AnnotatorRow:
    row = find_annotator(session, name)
    if row is None:
        raise NotFoundError(f"no user named {name!r}; create it with `python -m db create-user {name} --role ...`")
    return row


def set_password(session: Session, name: str, password: str, *, actor: str = CLI_ACTOR) -> None:
    """A new password; every session token issued before stops working (a stolen one included)."""
    row = _account(session, name)
    row.password_hash = hash_password(password, row.name)
    row.token_version = (row.token_version or 0) + 1
    session.flush()
    record_account_event(session, row.name, actor, "password reset")


def set_enabled(session: Session, name: str, enabled: bool, *, actor: str = CLI_ACTOR) -> AnnotatorInfo:
    """Disable an account (it can no longer sign in, its tokens stop working) or enable it again."""
    row = _account(session, name)
    if bool(row.enabled) != enabled:
        row.enabled = enabled
        row.token_version = (row.token_version or 0) + 1
        session.flush()
        record_account_event(session, row.name, actor, "enabled" if enabled else "disabled")
    return to_info(row)


def revoke_sessions(session: Session, name: str, *, actor: str = CLI_ACTOR) -> None:
    """Sign the account out everywhere: every token issued so far stops working."""
    row = _account(session, name)
    row.token_version = (row.token_version or 0) + 1
    session.flush()
    record_account_event(session, row.name, actor, "signed out everywhere")


def authenticate(session: Session, name: str, password: str) -> AnnotatorInfo | None:
    """The enabled account when name and password match, else None (unknown name, disabled account and wrong
    password look alike, and cost alike)."""
    row = find_annotator(session, name)
    if row is None or row.password_hash is None or not row.enabled:
        _scrypt(password, b"\0" * SALT_BYTES)  # same cost, so timing does not tell names apart
        return None
    return to_info(row) if verify_password(password, row.password_hash) else None
