"""Team-mode login hardening: the password rule on account creation (guessable ones refused however long),
growing back-off and a lock per account (under every reading of its name), per client and over everyone after
repeated failures, counted under the login gate, and every attempt recorded (who, when, from which client).
A fake clock drives time: nothing here sleeps. SQLite always, PostgreSQL when DOCRE_TEST_POSTGRES_URL is set."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete

from db import accounts, store
from db.accounts.login_throttle import LoginPolicy
from db.accounts.passwords import MIN_PASSWORD_LENGTH, check_password
from db.store import models as m
from db.store.errors import AccountError, StoreError
from db.store.session import session_scope
from tests.db_support import create_account

PASSWORD = "a long enough passphrase"
POLICY = LoginPolicy(max_failures=3, max_failures_per_client=5, lock_seconds=600, base_delay_seconds=1.0,
                     max_delay_seconds=3.0)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("password", ["qwertyuiopas", "aaaaaaaaaaaa", "P@ssw0rd1234"])
def test_guessable_passwords_are_refused_however_long(password: str) -> None:
    with pytest.raises(AccountError, match="too easy to guess"):
        check_password(password, name="carol")


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


def test_account_creation_and_password_change_apply_the_rule(factory) -> None:
    check_password("quokka ember")  # exactly 12, and hard to guess: fine
    with pytest.raises(AccountError, match="at least 12"), session_scope(factory) as s:
        accounts.create_user(s, "carol", "curator", "short pass")
    with session_scope(factory) as s:
        assert store.list_annotators(s) == []  # nothing stored
        accounts.create_user(s, "carol", "curator", PASSWORD)
    with pytest.raises(AccountError, match="too common"), session_scope(factory) as s:
        accounts.set_password(s, "carol", "qwertyuiop123")
    with session_scope(factory) as s:
        assert accounts.authenticate(s, "carol", PASSWORD) is not None  # the old password still works


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _login(factory, name, password, clock, client="ip:10.0.0.1", policy=POLICY):
    return accounts.attempt_login(factory, name, password, client=client, policy=policy, now=clock())


def test_failures_back_off_then_lock_the_account(factory) -> None:
    with session_scope(factory) as s:
        accounts.create_user(s, "carol", "curator", PASSWORD)
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


def test_failures_from_one_client_lock_that_client_across_names(factory) -> None:
    with session_scope(factory) as s:
        accounts.create_user(s, "carol", "curator", PASSWORD)
    clock = Clock()
    for k in range(5):  # five names (unknown ones too), two failures each at most: no account lock
        outcome = _login(factory, f"user{k}", "guess guess guess", clock, client="ip:10.6.6.6")
        clock.advance(1)
    assert outcome.locked_until is not None
    refused = _login(factory, "carol", PASSWORD, clock, client="ip:10.6.6.6")
    assert refused.account is None and refused.locked_until is not None
    other = _login(factory, "carol", PASSWORD, clock, client="ip:10.0.0.2")  # another client is not locked out
    assert other.account is not None


def test_every_attempt_is_recorded_newest_first(factory) -> None:
    with session_scope(factory) as s:
        accounts.create_user(s, "carol", "curator", PASSWORD)
    clock = Clock()
    _login(factory, "carol", "wrong password!", clock, client="ip:10.0.0.1")
    clock.advance(5)
    _login(factory, "nobody", "wrong password!", clock, client="ip:10.0.0.2")
    clock.advance(5)
    _login(factory, "carol", PASSWORD, clock, client="ip:10.0.0.1")
    with session_scope(factory) as s:
        rows, total = accounts.list_login_attempts(s)
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


def test_every_reading_of_a_name_counts_towards_its_lock(factory) -> None:
    create_account(factory, password=PASSWORD)
    policy = LoginPolicy(max_failures=3, max_failures_per_client=100)
    for k, name in enumerate(["carol", "Carol", "CAROL"]):
        accounts.attempt_login(factory, name, "wrong wrong wrong", client=f"ip:10.0.0.{k}", policy=policy,
                               now=T0 + timedelta(seconds=k))
    locked = accounts.attempt_login(factory, "cArOl", PASSWORD, client="ip:10.0.1.1", policy=policy,
                                    now=T0 + timedelta(seconds=5))
    assert locked.account is None and locked.locked_until is not None


def test_many_names_from_many_clients_hit_the_global_cap(factory) -> None:
    create_account(factory, password=PASSWORD)
    policy = LoginPolicy(max_failures_global=4, global_window_seconds=60)
    for k in range(4):
        accounts.attempt_login(factory, f"user{k}", "guess guess guess", client=f"ip:10.0.0.{k}", policy=policy,
                               now=T0 + timedelta(seconds=k))
    refused = accounts.attempt_login(factory, "carol", PASSWORD, client="ip:10.9.9.9", policy=policy,
                                     now=T0 + timedelta(seconds=10))
    assert refused.account is None and refused.locked_until == T0 + timedelta(seconds=60)
    later = accounts.attempt_login(factory, "carol", PASSWORD, client="ip:10.9.9.9", policy=policy,
                                   now=T0 + timedelta(seconds=61))
    assert later.account is not None  # the window moved on: checks resume


def test_without_the_gate_row_no_login_is_checked(factory) -> None:
    create_account(factory, password=PASSWORD)
    with session_scope(factory) as s:
        s.execute(delete(m.LoginGateRow))
    with pytest.raises(StoreError, match="python -m db upgrade"):
        accounts.attempt_login(factory, "carol", PASSWORD, client="ip:10.0.0.1", policy=LoginPolicy(), now=T0)
