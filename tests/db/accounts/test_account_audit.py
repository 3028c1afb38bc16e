"""The audits curators read: account changes (who changed which account how, never a password) and the login
attempts, paged and filtered by name and outcome. SQLite always, PostgreSQL when DOCRE_TEST_POSTGRES_URL is set."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db import accounts, store
from db.accounts.login_throttle import LoginPolicy
from db.store.session import session_scope
from tests.db_support import create_account

PASSWORD = "a long enough passphrase"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_account_changes_are_audited_without_secrets(factory) -> None:
    create_account(factory, password=PASSWORD)
    with session_scope(factory) as s:
        store.set_role(s, "carol", "annotator", actor="root")
        accounts.set_password(s, "carol", "another long secret phrase", actor="root")
        accounts.set_enabled(s, "carol", False, actor="root")
        events, total = store.list_account_events(s)
    assert total == 4
    assert [(e.account, e.actor, e.action, e.detail) for e in events] == [
        ("carol", "root", "disabled", ""), ("carol", "root", "password reset", ""),
        ("carol", "root", "role changed", "curator -> annotator"), ("carol", "cli", "created", "role curator")]
    assert all(PASSWORD not in str(e) and "another long" not in str(e) for e in events)


def test_the_login_audit_pages_and_filters(factory) -> None:
    create_account(factory, password=PASSWORD)
    policy = LoginPolicy(max_failures=100, max_failures_per_client=100, max_failures_global=100)
    for k in range(7):
        accounts.attempt_login(factory, "carol" if k % 2 else f"eve_{k}", "guess guess guess", client="ip:10.0.0.1",
                               policy=policy, now=T0 + timedelta(seconds=k))
    accounts.attempt_login(factory, "carol", PASSWORD, client="ip:10.0.0.1", policy=policy,
                           now=T0 + timedelta(seconds=9))
    with session_scope(factory) as s:
        first, total = accounts.list_login_attempts(s, limit=3)
        second, _ = accounts.list_login_attempts(s, limit=3, offset=3)
        carols, n_carol = accounts.list_login_attempts(s, name="CAR")
        wins, n_wins = accounts.list_login_attempts(s, outcome="success")
        literal, n_literal = accounts.list_login_attempts(s, name="_")  # a LIKE wildcard is matched literally
        with pytest.raises(ValueError, match="outcome"):
            accounts.list_login_attempts(s, outcome="maybe")
    assert total == 8 and len(first) == 3 and {a.id for a in first}.isdisjoint(a.id for a in second)
    assert n_carol == 4 and {a.name for a in carols} == {"carol"}
    assert n_wins == 1 and wins[0].name == "carol"
    assert n_literal == 4 and all(a.name.startswith("eve_") for a in literal)
