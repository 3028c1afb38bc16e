"""Accounts: salted scrypt hashes only (never the password), verification, roles, and the `python -m db` CLI."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from db import accounts, store
from db.accounts.auth import hash_password, verify_password
from db.store import models as m
from db.store.errors import AccountError, DuplicateError
from db.store.session import session_scope
from tests.paths import ROOT

PASSWORD = "correct horse battery"


def test_hashes_are_salted_and_verify() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second and first.startswith("scrypt$") and PASSWORD not in first
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password("correct horse battery!", first)
    assert not verify_password(PASSWORD, "scrypt$garbage") and not verify_password(PASSWORD, "")
    with pytest.raises(ValueError, match="at least 12"):  # AccountError is a ValueError
        hash_password("short")


def test_create_user_stores_only_a_hash_and_authenticates(factory) -> None:
    with session_scope(factory) as session:
        store.ensure_annotator(session, "ann")  # known from local mode, no password yet
        info = accounts.create_user(session, "ann", "curator", PASSWORD)
        accounts.create_user(session, "bob", "annotator", "another long secret")
    assert info.role == "curator" and info.has_password
    with session_scope(factory) as session:
        stored = session.scalar(select(m.AnnotatorRow.password_hash).where(m.AnnotatorRow.name == "ann"))
        assert PASSWORD not in stored and verify_password(PASSWORD, stored)
        assert accounts.authenticate(session, "ann", PASSWORD).name == "ann"
        assert accounts.authenticate(session, "ann", "another long secret") is None
        assert accounts.authenticate(session, "nobody", PASSWORD) is None
        assert [(a.name, a.role) for a in store.list_annotators(session)] == [("ann", "curator"), ("bob", "annotator")]
    with pytest.raises(DuplicateError), session_scope(factory) as session:
        accounts.create_user(session, "bob", "annotator", PASSWORD)
    with pytest.raises(ValueError, match="role"), session_scope(factory) as session:
        accounts.create_user(session, "dan", "admin", PASSWORD)


def test_cli_upgrades_and_creates_a_user_from_the_environment(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    env = {**os.environ, "DOCRE_NEW_PASSWORD": PASSWORD, "PYTHONPATH": str(ROOT)}
    run = lambda *args: subprocess.run([sys.executable, "-m", "db", "--url", url, *args], cwd=tmp_path, env=env,  # noqa: E731
                                       capture_output=True, text=True, timeout=120)
    assert run("upgrade").returncode == 0
    created = run("create-user", "cat", "--role", "curator")
    assert created.returncode == 0, created.stderr
    assert PASSWORD not in created.stdout + created.stderr
    assert run("users").stdout.split() == ["cat", "curator", "password"]
    assert run("create-user", "cat", "--role", "curator").returncode == 2  # exists already
    assert PASSWORD.encode() not in (tmp_path / "cli.sqlite").read_bytes()


def test_local_names_never_take_a_team_account(factory) -> None:
    """Local mode asks only for a name: one that an account (with a password) owns must not act as it."""
    with session_scope(factory) as session:
        accounts.create_user(session, "carol", "curator", PASSWORD)
    with pytest.raises(AccountError,
                       match="belongs to a team account with a password"), session_scope(factory) as session:
        store.ensure_annotator(session, "carol")
    with pytest.raises(AccountError, match="pick another name"), session_scope(factory) as session:
        store.local_annotator(session, " carol".strip())
    with session_scope(factory) as session:
        assert store.ensure_annotator(session, "  ann ").name == "ann"
        assert store.local_annotator(session, "ann").role == "annotator"
        assert [a.name for a in store.list_annotators(session)] == ["ann", "carol"]  # nothing else stored
