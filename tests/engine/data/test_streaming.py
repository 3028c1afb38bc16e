"""Streaming reader: a JSON array read in chunks equals the whole-file reader; .jsonl too; faults name the file."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from engine.data import streaming
from engine.data.documents import read_documents
from engine.data.streaming import iter_documents
from engine.errors import InputFileError
from tests.engine.data.docred_support import tiny_doc


def _docs(n: int) -> list[dict]:
    return [tiny_doc(f"Doc {i} \u00e9 ]") for i in range(n)]


def test_array_in_small_chunks_matches_whole_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(_docs(5), indent=1), encoding="utf-8")
    monkeypatch.setattr(streaming, "CHUNK", 7)  # documents straddle many chunk edges
    assert list(iter_documents(path)) == list(read_documents(path).documents)


def test_jsonl_matches_array(tmp_path: Path) -> None:
    docs = _docs(3)
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    (tmp_path / "c.json").write_text(json.dumps(docs), encoding="utf-8")
    assert list(iter_documents(tmp_path / "c.jsonl")) == list(iter_documents(tmp_path / "c.json"))


def test_bad_document_is_named_and_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    docs = _docs(3)
    del docs[1]["vertexSet"]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        titles = [d.title for d in iter_documents(path)]
    assert titles == ["Doc 0 \u00e9 ]", "Doc 2 \u00e9 ]"]
    assert "c.jsonl" in caplog.text and "vertexSet" in caplog.text


@pytest.mark.parametrize("text", ["{}", "[{\"title\": 1} {}]", "[{\"title\": "])
def test_malformed_array_names_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError, match="bad.json"):
        list(streaming.iter_json_objects(path))
