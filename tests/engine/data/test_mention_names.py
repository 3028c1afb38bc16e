"""A mention whose `name` is not the text of its tokens is warned about (file, document index and title,
entity and mention index), never rejected; tokenisation splits ("26 , 2009" for "26, 2009") and case are
not differences."""
from __future__ import annotations

import json
import logging

from engine.cli.common import load_docs
from engine.data.documents import loads_documents, read_documents


def doc(title: str, mentions: list[tuple[str, int, int]]) -> dict:
    sents = [["Marie", "Curie", "moved", "to", "Paris", "on", "February", "26", ",", "2009", "."]]
    return {"title": title, "sents": sents,
            "vertexSet": [[{"name": n, "sent_id": 0, "pos": [a, b], "type": "PER"}] for n, a, b in mentions]}


def test_a_name_that_differs_from_its_tokens_is_a_warning_naming_it():
    data = [doc("fine", [("Marie Curie", 0, 2)]),
            doc("wrong", [("Marie Curie", 0, 2), ("Lyon", 4, 5)])]
    result = loads_documents(json.dumps(data), file="in.json")
    assert [d.title for d in result.documents] == ["fine", "wrong"] and not result.problems  # kept
    assert len(result.warnings) == 1
    text = str(result.warnings[0])
    assert text.startswith("in.json: document 1 ('wrong'): vertexSet[1][0]")
    assert "entity 1, mention 0" in text and "'Lyon'" in text and "'Paris'" in text


def test_case_and_tokenisation_spaces_do_not_warn():
    data = [doc("splits", [("MARIE curie", 0, 2), ("February 26, 2009", 6, 10), ("  paris ", 4, 5)])]
    assert loads_documents(json.dumps(data), file="in.json").warnings == ()


def test_redocred_dev_warns_only_on_its_three_real_faults(shared_data):
    result = read_documents(shared_data / "redocred" / "dev_revised.json")
    assert len(result.documents) == 500
    assert [(w.doc_index, w.field, w.index) for w in result.warnings] == [
        (112, "vertexSet[16]", 0), (161, "vertexSet[0]", 0), (430, "vertexSet[14]", 0)]


def test_the_cli_reads_the_document_and_logs_the_warning(tmp_path, caplog):
    path = tmp_path / "in.json"
    path.write_text(json.dumps([doc("wrong", [("Lyon", 4, 5)])]))
    with caplog.at_level(logging.WARNING):
        docs = load_docs(str(path))
    assert [d.title for d in docs] == ["wrong"]
    assert any("document 0 ('wrong')" in r.getMessage() and "entity 0, mention 0" in r.getMessage()
               for r in caplog.records)
