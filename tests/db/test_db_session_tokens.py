"""Signed session tokens and the account state they are checked against on every use: a password change, a
role change, disabling and "log out everywhere" revoke them; names are compared as people read them (NFKC,
case folded; look-alike scripts refused); weak passwords are refused by strength, not only by list; account
changes are audited; the login audit pages and filters. SQLite always, PostgreSQL when DOCRE_TEST_POSTGRES_URL
is set."""
from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta

import pytest

from db import store
from db.errors import AccountError, DuplicateError
from db.login_throttle import LoginPolicy
from db.passwords import check_password
from db.secret_key import keyed_hash, load_or_create
from db.session import session_scope
from db.session_tokens import issue, read
from tests.db_fixtures import db_engine, db_url, factory  # noqa: F401

KEY, OTHER_KEY = b"k" * 32, b"o" * 32
PASSWORD = "a long enough passphrase"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _carol(factory, role: str = "curator"):  # noqa: F811
    with session_scope(factory) as s:
        return store.create_user(s, "carol", role, PASSWORD)


def _account(factory, token: str, now: datetime = T0):  # noqa: F811
    with session_scope(factory) as s:
        return store.token_account(s, KEY, token, now)


def test_a_token_is_signed_and_expires(factory) -> None:  # noqa: F811
    token = issue(KEY, _carol(factory), T0, HOUR)
    assert read(KEY, token, T0 + HOUR - timedelta(seconds=1)) is not None
    assert read(KEY, token, T0 + HOUR) is None  # expired
    assert read(OTHER_KEY, token, T0) is None  # another server's key
    payload, _, mac = token.rpartition(".")
    forged = payload.replace(".0.", ".7.", 1) + "." + mac  # another token version, same signature
    assert read(KEY, forged, T0) is None
    assert read(KEY, token[:-2], T0) is None and read(KEY, "", T0) is None and read(KEY, "x" * 5000, T0) is None
    assert _account(factory, token).name == "carol"


@pytest.mark.parametrize("change", ["password", "role", "disable", "log out"])
def test_account_changes_revoke_its_tokens(factory, change: str) -> None:  # noqa: F811
    token = issue(KEY, _carol(factory), T0, HOUR)
    with session_scope(factory) as s:
        if change == "password":
            store.set_password(s, "carol", "another long secret phrase")
        elif change == "role":
            store.set_role(s, "carol", "annotator")
        elif change == "disable":
            store.set_enabled(s, "carol", False, actor="root")
        else:
            store.revoke_sessions(s, "carol", actor="carol")
    assert _account(factory, token) is None
    with session_scope(factory) as s:
        fresh = store.get_annotator(s, "carol")
        can_log_in = store.authenticate(s, "carol", PASSWORD if change != "password" else "another long secret phrase")
    assert (can_log_in is None) == (change == "disable")  # a disabled account cannot sign in at all
    renewed = _account(factory, issue(KEY, fresh, T0, HOUR))
    assert (renewed is None) == (change == "disable")
    if change == "role":
        assert renewed.role == "annotator"


def test_setting_the_same_role_keeps_the_tokens(factory) -> None:  # noqa: F811
    token = issue(KEY, _carol(factory), T0, HOUR)
    with session_scope(factory) as s:
        store.set_role(s, "carol", "curator")
    assert _account(factory, token) is not None


@pytest.mark.parametrize("password", ["qwertyuiopas", "aaaaaaaaaaaa", "P@ssw0rd1234"])
def test_guessable_passwords_are_refused_however_long(password: str) -> None:
    with pytest.raises(AccountError, match="too easy to guess"):
        check_password(password, name="carol")


@pytest.mark.parametrize("name", ["Carol", "CAROL", "ｃａｒｏｌ", " carol "])
def test_names_that_read_alike_are_one_name(factory, name: str) -> None:  # noqa: F811
    _carol(factory)
    with pytest.raises(DuplicateError, match="user .carol. exists already"), session_scope(factory) as s:
        store.create_user(s, name, "annotator", "yet another long secret")
    with session_scope(factory) as s:
        assert store.authenticate(s, name, PASSWORD).name == "carol"  # the login takes any reading of it
        assert store.get_annotator(s, name).name == "carol"
        assert store.ensure_annotator(s, "Ada").name == store.ensure_annotator(s, "ＡＤＡ").name == "Ada"
        assert [a.name for a in store.list_annotators(s)] == ["Ada", "carol"]


def test_look_alike_letters_from_another_script_are_refused(factory) -> None:  # noqa: F811
    with pytest.raises(AccountError, match="different scripts"), session_scope(factory) as s:
        store.create_user(s, "c\u0430rol", "curator", PASSWORD)  # a Cyrillic a
    with pytest.raises(AccountError, match="different scripts"), session_scope(factory) as s:
        store.ensure_annotator(s, "p\u0430ul")
    with session_scope(factory) as s:
        assert store.ensure_annotator(s, "Zoë").name == "Zoë" and store.ensure_annotator(s, "Σίσυφος")


def test_every_reading_of_a_name_counts_towards_its_lock(factory) -> None:  # noqa: F811
    _carol(factory)
    policy = LoginPolicy(max_failures=3, max_failures_per_client=100)
    for k, name in enumerate(["carol", "Carol", "CAROL"]):
        store.attempt_login(factory, name, "wrong wrong wrong", client=f"ip:10.0.0.{k}", policy=policy,
                            now=T0 + timedelta(seconds=k))
    locked = store.attempt_login(factory, "cArOl", PASSWORD, client="ip:10.0.1.1", policy=policy,
                                 now=T0 + timedelta(seconds=5))
    assert locked.account is None and locked.locked_until is not None


def test_many_names_from_many_clients_hit_the_global_cap(factory) -> None:  # noqa: F811
    _carol(factory)
    policy = LoginPolicy(max_failures_global=4, global_window_seconds=60)
    for k in range(4):
        store.attempt_login(factory, f"user{k}", "guess guess guess", client=f"ip:10.0.0.{k}", policy=policy,
                            now=T0 + timedelta(seconds=k))
    refused = store.attempt_login(factory, "carol", PASSWORD, client="ip:10.9.9.9", policy=policy,
                                  now=T0 + timedelta(seconds=10))
    assert refused.account is None and refused.locked_until == T0 + timedelta(seconds=60)
    later = store.attempt_login(factory, "carol", PASSWORD, client="ip:10.9.9.9", policy=policy,
                                now=T0 + timedelta(seconds=61))
    assert later.account is not None  # the window moved on: checks resume


def test_account_changes_are_audited_without_secrets(factory) -> None:  # noqa: F811
    _carol(factory)
    with session_scope(factory) as s:
        store.set_role(s, "carol", "annotator", actor="root")
        store.set_password(s, "carol", "another long secret phrase", actor="root")
        store.set_enabled(s, "carol", False, actor="root")
        events, total = store.list_account_events(s)
    assert total == 4
    assert [(e.account, e.actor, e.action, e.detail) for e in events] == [
        ("carol", "root", "disabled", ""), ("carol", "root", "password reset", ""),
        ("carol", "root", "role changed", "curator -> annotator"), ("carol", "cli", "created", "role curator")]
    assert all(PASSWORD not in str(e) and "another long" not in str(e) for e in events)


def test_the_login_audit_pages_and_filters(factory) -> None:  # noqa: F811
    _carol(factory)
    policy = LoginPolicy(max_failures=100, max_failures_per_client=100, max_failures_global=100)
    for k in range(7):
        store.attempt_login(factory, "carol" if k % 2 else f"eve_{k}", "guess guess guess", client="ip:10.0.0.1",
                            policy=policy, now=T0 + timedelta(seconds=k))
    store.attempt_login(factory, "carol", PASSWORD, client="ip:10.0.0.1", policy=policy, now=T0 + timedelta(seconds=9))
    with session_scope(factory) as s:
        first, total = store.list_login_attempts(s, limit=3)
        second, _ = store.list_login_attempts(s, limit=3, offset=3)
        carols, n_carol = store.list_login_attempts(s, name="CAR")
        wins, n_wins = store.list_login_attempts(s, outcome="success")
        literal, n_literal = store.list_login_attempts(s, name="_")  # a LIKE wildcard is matched literally
        with pytest.raises(ValueError, match="outcome"):
            store.list_login_attempts(s, outcome="maybe")
    assert total == 8 and len(first) == 3 and {a.id for a in first}.isdisjoint(a.id for a in second)
    assert n_carol == 4 and {a.name for a in carols} == {"carol"}
    assert n_wins == 1 and wins[0].name == "carol"
    assert n_literal == 4 and all(a.name.startswith("eve_") for a in literal)


def test_the_secret_key_is_made_once_and_kept_private(tmp_path) -> None:
    path = tmp_path / "sub" / "secret.key"
    key = load_or_create(path)
    assert len(key) == 32 and load_or_create(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    tag = keyed_hash(key, "session", "0f0e-session-id")
    assert tag == keyed_hash(key, "session", "0f0e-session-id") and "0f0e" not in tag
    assert tag != keyed_hash(OTHER_KEY, "session", "0f0e-session-id")


def test_without_the_gate_row_no_login_is_checked(factory) -> None:  # noqa: F811
    from sqlalchemy import delete

    from db import models as m
    from db.errors import StoreError

    _carol(factory)
    with session_scope(factory) as s:
        s.execute(delete(m.LoginGate))
    with pytest.raises(StoreError, match="python -m db upgrade"):
        store.attempt_login(factory, "carol", PASSWORD, client="ip:10.0.0.1", policy=LoginPolicy(), now=T0)
