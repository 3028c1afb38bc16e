"""Signed session tokens and the account state they are checked against on every use: a password change, a
role change, disabling and "log out everywhere" revoke them; the secret key that signs them is made once and
kept private. SQLite always, PostgreSQL when DOCRE_TEST_POSTGRES_URL is set."""
from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta

import pytest

from db import accounts, store
from db.store.session import session_scope
from tests.db_support import create_account

KEY, OTHER_KEY = b"k" * 32, b"o" * 32
PASSWORD = "a long enough passphrase"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _account(factory, token: str, now: datetime = T0):
    with session_scope(factory) as s:
        return accounts.token_account(s, KEY, token, now)


def test_a_token_is_signed_and_expires(factory) -> None:
    token = accounts.issue_token(KEY, create_account(factory, password=PASSWORD), T0, HOUR)
    assert accounts.read_token(KEY, token, T0 + HOUR - timedelta(seconds=1)) is not None
    assert accounts.read_token(KEY, token, T0 + HOUR) is None  # expired
    assert accounts.read_token(OTHER_KEY, token, T0) is None  # another server's key
    payload, _, mac = token.rpartition(".")
    forged = payload.replace(".0.", ".7.", 1) + "." + mac  # another token version, same signature
    assert accounts.read_token(KEY, forged, T0) is None
    for bad in (token[:-2], "", "x" * 5000):
        assert accounts.read_token(KEY, bad, T0) is None
    assert _account(factory, token).name == "carol"


@pytest.mark.parametrize("change", ["password", "role", "disable", "log out"])
def test_account_changes_revoke_its_tokens(factory, change: str) -> None:
    token = accounts.issue_token(KEY, create_account(factory, password=PASSWORD), T0, HOUR)
    with session_scope(factory) as s:
        if change == "password":
            accounts.set_password(s, "carol", "another long secret phrase")
        elif change == "role":
            store.set_role(s, "carol", "annotator")
        elif change == "disable":
            accounts.set_enabled(s, "carol", False, actor="root")
        else:
            accounts.revoke_sessions(s, "carol", actor="carol")
    assert _account(factory, token) is None
    with session_scope(factory) as s:
        fresh = store.get_annotator(s, "carol")
        can_log_in = accounts.authenticate(s, "carol",
                                           PASSWORD if change != "password" else "another long secret phrase")
    assert (can_log_in is None) == (change == "disable")  # a disabled account cannot sign in at all
    renewed = _account(factory, accounts.issue_token(KEY, fresh, T0, HOUR))
    assert (renewed is None) == (change == "disable")
    if change == "role":
        assert renewed.role == "annotator"


def test_setting_the_same_role_keeps_the_tokens(factory) -> None:
    token = accounts.issue_token(KEY, create_account(factory, password=PASSWORD), T0, HOUR)
    with session_scope(factory) as s:
        store.set_role(s, "carol", "curator")
    assert _account(factory, token) is not None


def test_the_secret_key_is_made_once_and_kept_private(tmp_path) -> None:
    path = tmp_path / "sub" / "secret.key"
    key = accounts.load_secret_key(path)
    assert len(key) == 32 and accounts.load_secret_key(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    tag = accounts.keyed_hash(key, "session", "0f0e-session-id")
    assert tag == accounts.keyed_hash(key, "session", "0f0e-session-id") and "0f0e" not in tag
    assert tag != accounts.keyed_hash(OTHER_KEY, "session", "0f0e-session-id")
