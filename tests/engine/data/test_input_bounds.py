"""Hostile input gets a message naming file, document and field, never an interpreter error: over-long text
(a 10 MB title froze every viewer's tab), NUL characters (PostgreSQL refuses them), integers over Python's
4,300-digit conversion limit, and nesting deep enough to exhaust the parser's stack (issue 27)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.data.documents import loads_documents
from engine.data.streaming import iter_documents
from engine.errors import InputFileError
from tests.paths import SHARED_DATA

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def real_doc() -> dict:
    with (SHARED_DATA / "redocred" / "dev_revised.json").open(encoding="utf-8") as fh:
        return json.load(fh)[0]


def _problems(docs: list[dict]) -> list[str]:
    return [str(p) for p in loads_documents(json.dumps(docs), file="up.json").problems]


def test_a_10mb_title_is_refused_naming_document_and_field(real_doc) -> None:
    (problem,) = _problems([real_doc, dict(real_doc, title="x" * 10_000_000)])
    assert problem.startswith("up.json: document 1 ('xxx")
    assert "title: 10,000,000 characters, over the limit of 1,000 for a title" in problem
    assert "DOCRE_MAX_TITLE_CHARS" in problem and len(problem) < 400  # the title itself is clipped


def test_limits_come_from_the_settings(real_doc, monkeypatch) -> None:
    monkeypatch.setenv("DOCRE_MAX_TITLE_CHARS", "5")
    (problem,) = _problems([real_doc])
    assert "title: 32 characters, over the limit of 5 for a title" in problem
    monkeypatch.setenv("DOCRE_MAX_TITLE_CHARS", "many")
    with pytest.raises(Exception, match="DOCRE_MAX_TITLE_CHARS must be a whole number"):
        _problems([real_doc])


@pytest.mark.parametrize(("edit", "where"), [
    (lambda d: d["sents"][1].__setitem__(2, "t" * 1001),
     "sents[1][2]: 1,001 characters, over the limit of 1,000 for a token"),
    (lambda d: d["vertexSet"][0][0].__setitem__("name", "n" * 10_001), "vertexSet[0][0].name: 10,001 characters"),
    (lambda d: d.__setitem__("note", "v" * 10_001), "note: 10,001 characters, over the limit of 10,000 for a text"),
    (lambda d: d.__setitem__("k" * 10_001, 1), "document key 'kkk"),
])
def test_every_other_string_is_bounded(real_doc, edit, where) -> None:
    doc = json.loads(json.dumps(real_doc))
    edit(doc)
    (problem,) = _problems([doc])
    assert "document 0 ('Willi Schneider (skeleton racer)')" in problem and where in problem


@pytest.mark.parametrize(("edit", "where"), [
    (lambda d: d.__setitem__("title", "a\x00b"), "title: contains a NUL character"),
    (lambda d: d["sents"][0].__setitem__(0, "\x00"), "sents[0][0]: contains a NUL character"),
    (lambda d: d["vertexSet"][1][0].__setitem__("name", "x\x00"), "vertexSet[1][0].name: contains a NUL"),
    (lambda d: d.__setitem__("meta", {"a\x00": 1}), "meta key 'a\\x00': contains a NUL"),
    (lambda d: d["labels"][0].__setitem__("note", ["\x00"]), "labels[0].note[0]: contains a NUL"),
])
def test_nul_characters_are_refused_by_field(real_doc, edit, where) -> None:
    doc = json.loads(json.dumps(real_doc))
    edit(doc)
    (problem,) = _problems([doc])
    assert "document 0 (" in problem and where in problem, problem


def test_an_integer_of_5000_digits_names_file_document_and_field(real_doc) -> None:
    text = json.dumps([real_doc, dict(real_doc, title="B")]).replace('"sent_id": 0', '"sent_id": ' + "7" * 5000, 1)
    text = text.rsplit('"title": "B"', 1)[0] + '"title": "B", "year": ' + "9" * 5000 + text.rsplit('"title": "B"', 1)[1]
    problems = [str(p) for p in loads_documents(text, file="up.json").problems]
    assert problems[0].startswith("up.json: document 0 (") and "vertexSet[0][0].sent_id" in problems[0]
    assert "an integer of 5,000 digits" in problems[0]
    assert problems[1].startswith("up.json: document 1 ('B')") and "year: an integer of 5,000 digits" in problems[1]


def test_deep_nesting_is_a_clear_error_in_whole_and_streamed_reads(tmp_path: Path, real_doc) -> None:
    with pytest.raises(InputFileError, match="deep.json: JSON nested too deeply"):
        loads_documents(DEEP, file="deep.json")
    path = tmp_path / "deep.json"
    path.write_text(json.dumps([real_doc])[:-1] + ", " + DEEP + "]", encoding="utf-8")
    docs = iter_documents(path)
    assert next(docs).title == real_doc["title"]
    with pytest.raises(InputFileError, match=r"deep.json: document 1: JSON nested too deeply"):
        next(docs)
    (problem,) = _problems([dict(real_doc, extra=json.loads("[" * 200 + "]" * 200))])
    assert "extra[0]" in problem and "nested over 32 levels deep" in problem
