"""Text the store refuses the same way on SQLite and PostgreSQL, before any SQL: NUL characters (SQLite stored
them, PostgreSQL raised a raw psycopg DataError) and text over the configured bounds, with messages naming the
document and field (an upload) or the name or note (issue 27)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from db import store
from db.store import models as m
from db.store.errors import ReviewError
from db.store.session import session_scope
from db.workflows import uploads
from tests.db_support import seed
from tests.paths import SHARED_DATA


@pytest.fixture(scope="module")
def upload_bytes() -> bytes:
    docs = json.loads((SHARED_DATA / "redocred" / "dev_revised.json").read_text(encoding="utf-8"))[:3]
    docs[1]["sents"][0][1] = "Nul\x00here"
    docs[2]["title"] = "T" * 10_000_000
    return json.dumps(docs).encode("utf-8")


def test_an_upload_with_nul_and_a_huge_title_stores_only_the_good_document(factory, upload_bytes) -> None:
    parsed = uploads.parse_upload(upload_bytes, "up.json")
    problems = [str(p) for p in parsed.problems]
    assert len(parsed.documents) == 1 and len(problems) == 2
    assert "document 1 (" in problems[0] and "sents[0][1]: contains a NUL character" in problems[0]
    assert "document 2 ('TTT" in problems[1] and "title: 10,000,000 characters" in problems[1]
    uploads.store_upload(factory, "d", parsed.documents, sources=parsed.sources)
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(m.DocumentRow)) == 1


@pytest.mark.parametrize("name", ["a\x00b", "n" * 101], ids=["nul", "long"])
def test_dataset_names_are_bounded_and_nul_free(factory, name) -> None:
    with pytest.raises(ValueError, match="dataset name '.*': (contains a NUL|101 characters, over the limit of 100)"), \
            session_scope(factory) as s:
        store.create_dataset(s, name)


def test_annotator_names_are_nul_free(factory) -> None:
    with pytest.raises(ValueError, match="annotator name .*contains a NUL"), session_scope(factory) as s:
        store.ensure_annotator(s, "ann\x00")


@pytest.mark.parametrize("note", ["why\x00", "w" * 2001], ids=["nul", "long"])
def test_review_notes_are_bounded_and_nul_free(factory, note) -> None:
    ids = seed(factory, [(0, 1, "P551", 0.9)])
    with pytest.raises(ReviewError, match=f"note on suggestion {ids['suggestions'][0]}: "), session_scope(factory) as s:
        store.record_review(s, ids["suggestions"][0], "ann", "reject", note=note)
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(m.ReviewRow)) == 0
