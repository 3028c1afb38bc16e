"""Signed, expiring session tokens for team mode: what the browser keeps (in an HttpOnly cookie) instead of the
password, and what binds a Streamlit session to its sign-in.

A token reads `v1.<account id>.<token version>.<issued>.<expires>.<mac>` (times in whole UTC seconds, the MAC an
HMAC-SHA256 under the server's secret key, db.accounts.secret_key). It proves nothing on its own: every use checks
it against the account's current row, which must exist, be enabled, have a password, and still carry the token
version the token names; raising the version (a password or role change, disabling, logging out) revokes every
token issued before."""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ..store import models as m
from ..store.domain import AnnotatorInfo
from ..store.queries.annotators import to_info

PREFIX = "v1"
MAX_TOKEN_LENGTH = 200  # a cookie longer than any token we issue is refused unread


@dataclass(frozen=True)
class TokenClaims:
    """What a token says, once its signature checks out."""

    account_id: int
    version: int
    issued: datetime
    expires: datetime


def _mac(key: bytes, payload: str) -> str:
    digest = hmac.new(key, f"docre-session\0{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue_token(key: bytes, account: AnnotatorInfo, now: datetime, lifetime: timedelta) -> str:
    """A token for `account` at its current token version, valid from `now` for `lifetime`."""
    issued = int(now.timestamp())
    payload = f"{PREFIX}.{account.id}.{account.token_version}.{issued}.{issued + int(lifetime.total_seconds())}"
    return f"{payload}.{_mac(key, payload)}"


def read_token(key: bytes, token: str | None, now: datetime) -> TokenClaims | None:
    """The claims of a well-formed, correctly signed, unexpired token; None for anything else."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    payload, _, mac = token.rpartition(".")
    parts = payload.split(".")
    if len(parts) != 5 or parts[0] != PREFIX or not hmac.compare_digest(mac.encode(), _mac(key, payload).encode()):
        return None
    try:
        account_id, version, issued, expires = (int(p) for p in parts[1:])
    except ValueError:
        return None
    if not issued <= now.timestamp() < expires:
        return None
    return TokenClaims(account_id, version, datetime.fromtimestamp(issued, now.tzinfo),
                       datetime.fromtimestamp(expires, now.tzinfo))


def token_account(session: Session, key: bytes, token: str | None, now: datetime) -> AnnotatorInfo | None:
    """The account a token signs in, checked against its row now (exists, enabled, has a password, same token
    version), with the role it has now; None when the token or the account no longer allows it."""
    claims = read_token(key, token, now)
    if claims is None:
        return None
    row = session.get(m.AnnotatorRow, claims.account_id)
    if row is None or row.password_hash is None or not row.enabled or (row.token_version or 0) != claims.version:
        return None
    return to_info(row)
