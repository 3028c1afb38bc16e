"""Names compared as people read them: NFKC and case folding make `Carol`, `CAROL` and full-width `ｃａｒｏｌ` one
name (for accounts, logins and local names alike), and a new name mixing look-alike scripts is refused. SQLite
always, PostgreSQL when DOCRE_TEST_POSTGRES_URL is set."""
from __future__ import annotations

import pytest

from db import accounts, store
from db.store.errors import AccountError, DuplicateError
from db.store.session import session_scope
from tests.db_support import create_account

PASSWORD = "a long enough passphrase"


@pytest.mark.parametrize("name", ["Carol", "CAROL", "ｃａｒｏｌ", " carol "])
def test_names_that_read_alike_are_one_name(factory, name: str) -> None:
    create_account(factory, password=PASSWORD)
    with pytest.raises(DuplicateError, match="user .carol. exists already"), session_scope(factory) as s:
        accounts.create_user(s, name, "annotator", "yet another long secret")
    with session_scope(factory) as s:
        assert accounts.authenticate(s, name, PASSWORD).name == "carol"  # the login takes any reading of it
        assert store.get_annotator(s, name).name == "carol"
        assert store.ensure_annotator(s, "Ada").name == store.ensure_annotator(s, "ＡＤＡ").name == "Ada"
        assert [a.name for a in store.list_annotators(s)] == ["Ada", "carol"]


def test_look_alike_letters_from_another_script_are_refused(factory) -> None:
    with pytest.raises(AccountError, match="different scripts"), session_scope(factory) as s:
        accounts.create_user(s, "c\u0430rol", "curator", PASSWORD)  # a Cyrillic a
    with pytest.raises(AccountError, match="different scripts"), session_scope(factory) as s:
        store.ensure_annotator(s, "p\u0430ul")
    with session_scope(factory) as s:
        assert store.ensure_annotator(s, "Zoë").name == "Zoë" and store.ensure_annotator(s, "Σίσυφος")
