"""Team-mode login hardening: the password rule on account creation, growing back-off and a lock per account
and per client after repeated failures, and every attempt recorded (who, when, from which client and session).
A fake clock drives time: nothing here sleeps. SQLite always, PostgreSQL when DOCRE_TEST_POSTGRES_URL is set."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db import store
from db.errors import AccountError
from db.login_throttle import LoginPolicy
from db.passwords import MIN_PASSWORD_LENGTH, check_password
from db.session import session_scope
from tests.db_fixtures import db_url, db_engine, factory  # noqa: F401

PASSWORD = "a long enough passphrase"
POLICY = LoginPolicy(max_failures=3, max_failures_per_client=5, lock_seconds=600, base_delay_seconds=1.0,
                     max_delay_seconds=3.0)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("password", "message"), [
    ("elevenchars", f"at least {MIN_PASSWORD_LENGTH} characters"),
    (" " * 20, "not only spaces"),
    ("\t \n" * 5, "not only spaces"),
    ("password1234", "too common"),
    ("Correct Horse Battery Staple", "too common"),
    ("carol-carol-carol", "user name"),
])
def test_weak_passwords_are_refused_with_a_clear_message(password: str, message: str) -> None:
    with pytest.raises(AccountError, match=message):
        check_password(password, name="carol-carol-carol")


def test_account_creation_and_password_change_apply_the_rule(factory) -> None:  # noqa: F811
    check_password("quokka ember")  # exactly 12, and hard to guess: fine
    with pytest.raises(AccountError, match="at least 12"), session_scope(factory) as s:
        store.create_user(s, "carol", "curator", "short pass")
    with session_scope(factory) as s:
        assert store.list_annotators(s) == []  # nothing stored
        store.create_user(s, "carol", "curator", PASSWORD)
    with pytest.raises(AccountError, match="too common"), session_scope(factory) as s:
        store.set_password(s, "carol", "qwertyuiop123")
    with session_scope(factory) as s:
        assert store.authenticate(s, "carol", PASSWORD) is not None  # the old password still works


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _login(factory, name, password, clock, client="ip:10.0.0.1", policy=POLICY):  # noqa: F811
    return store.attempt_login(factory, name, password, client=client, policy=policy, now=clock())


def test_failures_back_off_then_lock_the_account(factory) -> None:  # noqa: F811
    with session_scope(factory) as s:
        store.create_user(s, "carol", "curator", PASSWORD)
    clock = Clock()
    delays = []
    for _ in range(3):
        outcome = _login(factory, "carol", "wrong password!", clock)
        assert outcome.account is None
        delays.append(outcome.delay_seconds)
        clock.advance(1)
    assert delays == [1.0, 2.0, 3.0]  # doubling, capped at max_delay_seconds
    assert outcome.locked_until == T0 + timedelta(seconds=2 + 600)  # the third failure locks
    locked = _login(factory, "carol", PASSWORD, clock, client="ip:10.9.9.9")  # right password, other client
    assert locked.account is None and locked.locked_until == outcome.locked_until and locked.delay_seconds == 0
    clock.advance(600)
    ok = _login(factory, "carol", PASSWORD, clock)
    assert ok.account is not None and ok.account.name == "carol" and ok.locked_until is None
    again = _login(factory, "carol", "wrong password!", clock)  # a success starts the account's count afresh
    assert again.delay_seconds == 1.0 and again.locked_until is None


def test_failures_from_one_client_lock_that_client_across_names(factory) -> None:  # noqa: F811
    with session_scope(factory) as s:
        store.create_user(s, "carol", "curator", PASSWORD)
    clock = Clock()
    for k in range(5):  # five names (unknown ones too), two failures each at most: no account lock
        outcome = _login(factory, f"user{k}", "guess guess guess", clock, client="ip:10.6.6.6")
        clock.advance(1)
    assert outcome.locked_until is not None
    refused = _login(factory, "carol", PASSWORD, clock, client="ip:10.6.6.6")
    assert refused.account is None and refused.locked_until is not None
    other = _login(factory, "carol", PASSWORD, clock, client="ip:10.0.0.2")  # another client is not locked out
    assert other.account is not None


def test_every_attempt_is_recorded_newest_first(factory) -> None:  # noqa: F811
    with session_scope(factory) as s:
        store.create_user(s, "carol", "curator", PASSWORD)
    clock = Clock()
    _login(factory, "carol", "wrong password!", clock, client="ip:10.0.0.1")
    clock.advance(5)
    _login(factory, "nobody", "wrong password!", clock, client="ip:10.0.0.2")
    clock.advance(5)
    _login(factory, "carol", PASSWORD, clock, client="ip:10.0.0.1")
    with session_scope(factory) as s:
        rows, total = store.list_login_attempts(s)
    assert total == 3
    assert [(r.name, r.outcome, r.client) for r in rows] == [
        ("carol", "success", "ip:10.0.0.1"), ("nobody", "failure", "ip:10.0.0.2"),
        ("carol", "failure", "ip:10.0.0.1")]
    assert [r.created_at for r in rows] == [T0 + timedelta(seconds=10), T0 + timedelta(seconds=5), T0]
    assert all(PASSWORD not in str(r) and "wrong password" not in str(r) for r in rows)  # never the password


def test_policy_from_the_environment() -> None:
    assert LoginPolicy.from_env({}) == LoginPolicy()
    custom = LoginPolicy.from_env({"DOCRE_LOGIN_MAX_FAILURES": "7", "DOCRE_LOGIN_LOCK_SECONDS": "60"})
    assert custom.max_failures == 7 and custom.lock_seconds == 60
    with pytest.raises(ValueError, match="DOCRE_LOGIN_MAX_FAILURES: expected a whole number >= 1, got 'many'"):
        LoginPolicy.from_env({"DOCRE_LOGIN_MAX_FAILURES": "many"})
