"""Team-mode accounts: passwords kept only as salted scrypt hashes (hashlib.scrypt), compared in constant time.

A stored hash reads `scrypt$N$r$p$salt$key` (salt and key in base64), so the cost can be raised later without
breaking old accounts. No secret lives in the code: each hash carries its own random salt."""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store import models as m
from ..store.clock import utc_now
from ..store.domain import AnnotatorInfo
from ..store.errors import DuplicateError, NotFoundError
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
    the rule (db.passwords), so no weak password is ever stored."""
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
        actual = _scrypt(password, base64.b64decode(salt, validate=True), n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def create_user(session: Session, name: str, role: str, password: str) -> AnnotatorInfo:
    """A team-mode account; an annotator already known by that name (from local mode) gets the password."""
    name, role = check_name(name), check_role(role)
    password_hash = hash_password(password, name)
    row = session.scalar(select(m.AnnotatorRow).where(m.AnnotatorRow.name == name))
    if row is not None and row.password_hash is not None:
        raise DuplicateError(f"user {name!r} exists already; use set_password to change the password")
    if row is None:
        row = m.AnnotatorRow(name=name, role=role, created_at=utc_now())
        session.add(row)
    row.role, row.password_hash = role, password_hash
    session.flush()
    logger.info("user %s created with role %s", name, role)
    return to_info(row)


def set_password(session: Session, name: str, password: str) -> None:
    row = session.scalar(select(m.AnnotatorRow).where(m.AnnotatorRow.name == name))
    if row is None:
        raise NotFoundError(f"no user named {name!r}; create it with `python -m db create-user {name} --role ...`")
    row.password_hash = hash_password(password, name)
    session.flush()


def authenticate(session: Session, name: str, password: str) -> AnnotatorInfo | None:
    """The account when name and password match, else None (unknown name and wrong password look alike)."""
    row = session.scalar(select(m.AnnotatorRow).where(m.AnnotatorRow.name == name))
    if row is None or row.password_hash is None:
        _scrypt(password, b"\0" * SALT_BYTES)  # same cost, so timing does not tell names apart
        return None
    return to_info(row) if verify_password(password, row.password_hash) else None
