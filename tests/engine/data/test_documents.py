"""DocRED JSON read/write: validation names file, document, field and index; export round-trips losslessly."""
from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.data.documents import (
    Document,
    Entity,
    Fact,
    LoadResult,
    Mention,
    document_from_json,
    document_to_json,
    loads_documents,
    pair_labels,
    parse_documents,
    read_documents,
    write_documents,
)
from engine.data.schema import RelationSchema
from engine.errors import DocumentError, InputFileError
from tests.engine.data.docred_support import TITLE, tiny_doc
from tests.paths import require_shared_data

FILE = "tiny.json"
def test_tiny_document_builds() -> None:
    doc = document_from_json(tiny_doc(), file=FILE, doc_index=0, schema=None)
    assert doc.title == TITLE
    assert doc.sents[1] == ("Ann", "Lee", "lives", "there", ".")
    assert doc.entities[2] == Entity((Mention("Ann Lee", 1, 0, 2, "PER"),))
    assert doc.entities[2].mentions[0].pos == (0, 2)
    assert doc.facts == (Fact(0, 1, "P17", (0,)), Fact(2, 1, "P27", (0, 1)))
    assert doc.has_labels and doc.num_entities == 3 and doc.num_tokens == 11


def _set(path: list[Any], value: Any) -> Callable[[dict], None]:
    def mutate(obj: dict) -> None:
        target = obj
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(key: str) -> Callable[[dict], None]:
    return lambda obj: obj.pop(key)


def _append_label(label: Any) -> Callable[[dict], None]:
    return lambda obj: obj["labels"].append(label)


def _append_entity(entity: Any) -> Callable[[dict], None]:
    return lambda obj: obj["vertexSet"].append(entity)


MENTION = ["vertexSet", 1, 0]
# (case id, mutation, field, index, words the message must contain)
INVALID_CASES = [
    ("title not a string", _set(["title"], 7), "title", None, "expected a string"),
    ("title missing", _delete("title"), "title", None, "missing key 'title'"),
    ("sents missing", _delete("sents"), "sents", None, "missing key 'sents'"),
    ("no sentences", _set(["sents"], []), "sents", None, "no text"),
    ("only empty sentences", _set(["sents"], [[], []]), "sents", None, "no text"),
    ("sents not a list", _set(["sents"], "Tiny Town is in France."), "sents", None, "list of sentences"),
    ("sentence not a list", _set(["sents", 1], "Ann Lee lives there ."), "sents", 1, "list of string tokens"),
    ("token not a string", _set(["sents", 1, 3], 3), "sents[1]", 3, "token string"),
    ("vertexSet not a list", _set(["vertexSet"], {}), "vertexSet", None, "list of entities"),
    ("entity with no mention", _append_entity([]), "vertexSet", 3, "no mention"),
    ("entity not a list", _append_entity({"name": "x"}), "vertexSet", 3, "list of mentions"),
    ("mention not an object", _set(["vertexSet", 2, 0], "Ann Lee"), "vertexSet[2]", 0, "mention object"),
    ("mention missing pos", lambda o: o["vertexSet"][1][0].pop("pos"), "vertexSet[1][0]", None, "'pos'"),
    ("span start < 0", _set(MENTION + ["pos"], [-1, 2]), "vertexSet[1][0].pos", None, "outside sentence 0"),
    ("span end <= start", _set(MENTION + ["pos"], [4, 4]), "vertexSet[1][0].pos", None, "outside sentence 0"),
    ("span past sentence end", _set(MENTION + ["pos"], [4, 7]), "vertexSet[1][0].pos", None, "which has 6 tokens"),
    ("pos not two ints", _set(MENTION + ["pos"], [4]), "vertexSet[1][0].pos", None, "two integers"),
    ("sent_id out of range", _set(MENTION + ["sent_id"], 2), "vertexSet[1][0].sent_id", None, "sent_id 2"),
    ("sent_id negative", _set(MENTION + ["sent_id"], -1), "vertexSet[1][0].sent_id", None, "sent_id -1"),
    ("unknown entity type", _set(MENTION + ["type"], "GPE"), "vertexSet[1][0].type", None, "'GPE'"),
    ("labels not a list", _set(["labels"], {}), "labels", None, "list of labels"),
    ("label not an object", _append_label([0, 1, "P17"]), "labels", 2, "label object"),
    ("label missing r", _append_label({"h": 0, "t": 1}), "labels", 2, "'r'"),
    ("head out of range", _set(["labels", 1, "h"], 3), "labels[1].h", None, "3 is not an entity"),
    ("tail out of range", _set(["labels", 0, "t"], -1), "labels[0].t", None, "-1 is not an entity"),
    ("head is a boolean", _set(["labels", 0, "h"], True), "labels[0].h", None, "True is not an entity"),
    ("head == tail", _set(["labels", 1, "t"], 2), "labels", 1, "same entity (2)"),
    ("unknown relation id", _set(["labels", 1, "r"], "P99999"), "labels[1].r", None, "'P99999'"),
    ("evidence out of range", _set(["labels", 1, "evidence"], [0, 5]), "labels[1].evidence", 1, "5 is not a sentence"),
    ("evidence not a list", _set(["labels", 1, "evidence"], 0), "labels[1].evidence", None, "list of sentence ids"),
    ("duplicate label", _append_label({"h": 0, "t": 1, "r": "P17"}), "labels", 2, "duplicate label"),
    ("labels on no entities", lambda o: (o.update(vertexSet=[])), "labels[0].h", None, "0 is not an entity"),
]


@pytest.mark.parametrize(
    ("mutate", "field", "index", "words"), [c[1:] for c in INVALID_CASES], ids=[c[0] for c in INVALID_CASES]
)
def test_invalid_document_names_where(
    mutate: Callable[[dict], None], field: str, index: int | None, words: str
) -> None:
    obj = tiny_doc()
    mutate(obj)
    with pytest.raises(DocumentError) as info:
        document_from_json(obj, file=FILE, doc_index=4, schema=None)
    problem = info.value.problem
    assert (problem.file, problem.doc_index, problem.field, problem.index) == (FILE, 4, field, index)
    assert problem.title == (TITLE if isinstance(obj.get("title"), str) else "")
    message = str(info.value)
    where = f"{field}[{index}]" if index is not None else field
    assert message.startswith(f"{FILE}: document 4 ")
    assert f"{where}: " in message and words in message
    if problem.title:
        assert repr(TITLE) in message


def test_document_not_an_object_is_reported() -> None:
    result = parse_documents([tiny_doc(), ["not", "a", "document"]], file=FILE)
    assert len(result.documents) == 1
    (problem,) = result.problems
    where = (problem.file, problem.doc_index, problem.title, problem.field, problem.index)
    assert where == (FILE, 1, "", "document", None)
    assert "expected a JSON object" in str(problem) and "got list" in str(problem)


def test_empty_title_and_empty_vertex_set_are_allowed() -> None:
    obj = tiny_doc(title="")
    obj["vertexSet"], obj["labels"] = [], []
    doc = document_from_json(obj, file=FILE, doc_index=0, schema=None)
    assert doc.title == "" and doc.entities == () and doc.facts == ()


def test_custom_schema_decides_known_relations() -> None:
    schema = RelationSchema(("P17",))
    with pytest.raises(DocumentError, match=r"labels\[1\]\.r: unknown relation id 'P27'"):
        document_from_json(tiny_doc(), file=FILE, doc_index=0, schema=schema)


def test_valid_documents_of_a_mixed_file_still_load(tmp_path: Path) -> None:
    bad_span, bad_relation = tiny_doc("Bad span"), tiny_doc("Bad relation")
    bad_span["vertexSet"][0][0]["pos"] = [0, 9]
    bad_relation["labels"][0]["r"] = "P0"
    data = [tiny_doc("One"), bad_span, tiny_doc("Two"), bad_relation, tiny_doc("Three")]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = read_documents(path)
    assert isinstance(result, LoadResult) and not result.ok
    assert [d.title for d in result.documents] == ["One", "Two", "Three"]
    assert [(p.doc_index, p.title, p.field) for p in result.problems] == [
        (1, "Bad span", "vertexSet[0][0].pos"),
        (3, "Bad relation", "labels[0].r"),
    ]
    assert all(p.file == str(path) for p in result.problems)


# --- whole-file problems -----------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="file not found"):
        read_documents(tmp_path / "nope.json")


def test_file_not_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"title": "x",\n   "sents": [[}\n]', encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        read_documents(path)
    message = str(info.value)
    assert str(path) in message and "not valid JSON at line 3, column 15" in message


def test_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('[\n{"title": "Caf\u00e9"}]'.encode("latin-1"))
    with pytest.raises(InputFileError, match=r"latin1\.json: not UTF-8 text: bad byte 0xe9 at line 2, column 15"):
        read_documents(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("  \n", encoding="utf-8")
    with pytest.raises(InputFileError, match="empty"):
        read_documents(path)


@pytest.mark.parametrize(
    ("data", "kind"), [({"title": "x"}, "object"), ("docs", "string"), (None, "null"), (3, "number")]
)
def test_json_that_is_not_a_list_of_documents(data: Any, kind: str) -> None:
    with pytest.raises(InputFileError, match=f"upload.json: expected a JSON list of documents, got {kind}"):
        loads_documents(json.dumps(data), file="upload.json")


def test_loads_documents_accepts_bytes_with_bom() -> None:
    text = json.dumps([tiny_doc("Café")], ensure_ascii=False)
    result = loads_documents(b"\xef\xbb\xbf" + text.encode("utf-8"), file="upload.json")
    assert result.ok and result.documents[0].title == "Café"
    assert loads_documents(text, file="upload.json") == result


# --- writing and round trips ----------------------------------------------------------------------------


def test_extras_round_trip_and_unlabelled_documents_have_no_labels(tmp_path: Path) -> None:
    labelled = tiny_doc("Zürich")
    labelled["source"] = {"wiki": 42}
    labelled["labels"][0]["notes"] = "checked"
    labelled["labels"][1].pop("evidence")
    unlabelled = tiny_doc("Unlabelled")
    unlabelled.pop("labels")
    path = tmp_path / "out.json"
    docs = parse_documents([labelled, unlabelled], file=FILE).documents
    assert docs[0].extra == {"source": {"wiki": 42}} and docs[0].facts[0].extra == {"notes": "checked"}
    assert docs[0].facts[1].evidence == () and docs[1].facts is None
    write_documents(docs, path)
    assert "Zürich" in path.read_text(encoding="utf-8")  # ensure_ascii=False
    written = json.loads(path.read_text(encoding="utf-8"))
    labelled["labels"][1]["evidence"] = []  # evidence defaults to []
    assert written == [labelled, unlabelled]
    assert "labels" not in written[1]
    assert read_documents(path).documents == docs


def test_pair_labels() -> None:
    obj = tiny_doc()
    obj["labels"].append({"h": 0, "t": 1, "r": "P131", "evidence": []})
    doc = document_from_json(obj, file=FILE, doc_index=0, schema=None)
    assert pair_labels(doc) == {(0, 1): {"P17", "P131"}, (2, 1): {"P27"}}
    assert pair_labels(Document("t", (("a",),), ())) == {}


def _without_mention_extras(data: list[dict]) -> list[dict]:
    """Mention keys beyond name/sent_id/pos/type (Re-DocRED's derivable global_pos, index) are not kept."""
    data = copy.deepcopy(data)
    for doc in data:
        doc["vertexSet"] = [
            [{k: m[k] for k in ("name", "sent_id", "pos", "type")} for m in entity] for entity in doc["vertexSet"]
        ]
    return data


@pytest.mark.parametrize(
    ("relative", "count"), [("redocred/dev_revised.json", 500), ("revisit/docred_labels.json", 51)]
)
def test_real_data_round_trips_losslessly(relative: str, count: int, tmp_path: Path) -> None:
    source = require_shared_data() / relative
    result = read_documents(source)
    assert result.problems == () and len(result.documents) == count
    out = tmp_path / "copy.json"
    write_documents(result.documents, out)
    again = read_documents(out)
    assert again.documents == result.documents
    assert [d.extra for d in again.documents] == [d.extra for d in result.documents]
    def label_extras(docs: tuple[Document, ...]) -> list[list[dict]]:
        return [[f.extra for f in d.facts or ()] for d in docs]

    assert label_extras(again.documents) == label_extras(result.documents)
    original = json.loads(source.read_text(encoding="utf-8"))
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == _without_mention_extras(original)
    assert [document_to_json(d) for d in result.documents] == written
