"""Uploads read and stored as a stream (issue 27: a 44 MB upload took 2.25 GB): the file's documents are never all
Python objects at once, they are stored BATCH_DOCS at a time in one transaction (all or nothing), and the upload
size limit (DOCRE_MAX_UPLOAD_MB) holds in every mode and in `python -m db import`."""
from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import func, select

from db import __main__ as db_cli
from db import store
from db.store import models as m
from db.store.session import session_scope
from db.workflows import upload_stream, uploads
from engine.errors import InputFileError
from tests.paths import SHARED_DATA


@pytest.fixture(scope="module")
def five() -> list[dict]:
    return json.loads((SHARED_DATA / "redocred" / "dev_revised.json").read_text(encoding="utf-8"))[:5]


def test_an_upload_is_stored_in_batches_and_never_parsed_whole(factory, five, monkeypatch) -> None:
    monkeypatch.setattr(upload_stream, "BATCH_DOCS", 2)
    batches: list[int] = []
    real = uploads.add_documents

    def counting(session, dataset_id, documents, sources=None):  # noqa: ANN001, ANN202
        batches.append(len(documents))
        return real(session, dataset_id, documents, sources)

    def whole(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the whole file was parsed at once")

    monkeypatch.setattr(uploads, "add_documents", counting)
    monkeypatch.setattr("engine.data.json_input.loads", whole)  # what every whole-file read goes through
    monkeypatch.setattr("engine.data.streaming.loads_documents", whole)
    docs = [*five, dict(five[0]), {"title": "bad"}]  # a duplicate of the first, and an invalid one
    data = json.dumps(docs).encode("utf-8")
    scan = upload_stream.scan_upload(data, "up.json")
    assert (scan.valid, [p.doc_index for p in scan.problems]) == (6, [6])
    dataset, result = upload_stream.store_upload_stream(factory, "streamed", data, "up.json")
    assert batches == [2, 2, 2]
    assert len(result.added) == 5 and [(s.index, s.existing_id) for s in result.skipped] == [(5, result.added[0])]
    monkeypatch.undo()
    with session_scope(factory) as s:
        stored = store.export_json(s, dataset.id)
    assert [d["title"] for d in stored] == [d["title"] for d in five]
    assert list(stored[0]) == list(five[0])  # every key kept, from the JSON object stored with it


def test_a_failing_batch_stores_nothing_of_the_upload(factory, five, monkeypatch) -> None:
    monkeypatch.setattr(upload_stream, "BATCH_DOCS", 2)
    data = json.dumps(five).encode("utf-8")
    calls: list[int] = []
    real = uploads.add_documents

    def fails_third(session, dataset_id, documents, sources=None):  # noqa: ANN001, ANN202
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk gone")
        return real(session, dataset_id, documents, sources)

    monkeypatch.setattr(uploads, "add_documents", fails_third)
    with pytest.raises(RuntimeError, match="disk gone"):
        upload_stream.store_upload_stream(factory, "partial", data, "up.json")
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(m.DocumentRow)) == 0 and store.list_datasets(s) == []


def test_the_upload_limit_holds_in_the_cli(tmp_path, five, monkeypatch, caplog) -> None:
    monkeypatch.setenv("DOCRE_MAX_UPLOAD_MB", "1")
    big = tmp_path / "big.json"
    big.write_text(json.dumps(five * 60), encoding="utf-8")
    caplog.set_level(logging.INFO)
    assert db_cli.main(["--url", f"sqlite:///{tmp_path / 'x.sqlite'}", "import", str(big), "--dataset", "d"]) == 2
    assert "over the 1 MB upload limit; split it into smaller files (or raise DOCRE_MAX_UPLOAD_MB)" in caplog.text
    with pytest.raises(InputFileError, match="holds no documents"):
        upload_stream.scan_upload(b"[]", "empty.json")
