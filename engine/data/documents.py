"""Documents in DocRED's shape: frozen dataclasses, DocRED JSON read/write, and validation.

DocRED words throughout: a document has sentences of tokens, a vertexSet of entities, each entity a
list of mentions (sent_id, token span `pos` end-exclusive, name, type), and labels (head, tail,
relation, evidence)."""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.data import json_input
from engine.data.docred_rules import Fault, check_document, json_kind, mention_name_faults
from engine.data.schema import RelationSchema, default_schema
from engine.errors import DocumentError, DocumentProblem, InputFileError, clip

logger = logging.getLogger(__name__)

ENTITY_TYPES: tuple[str, ...] = ("PER", "ORG", "LOC", "TIME", "NUM", "MISC")


@dataclass(frozen=True)
class Mention:
    """One mention: tokens sents[sent_id][start:end] (end exclusive)."""

    name: str
    sent_id: int
    start: int
    end: int
    type: str

    @property
    def pos(self) -> tuple[int, int]:
        """DocRED's `pos`: the token span inside sentence `sent_id`, end exclusive."""
        return (self.start, self.end)


@dataclass(frozen=True)
class Entity:
    """An entity is its mentions (at least one); name and type are those of the first mention."""

    mentions: tuple[Mention, ...]

    @property
    def name(self) -> str:
        return self.mentions[0].name

    @property
    def type(self) -> str:
        return self.mentions[0].type


@dataclass(frozen=True)
class Fact:
    """A labelled triple: head and tail index the document's entities; r is a relation id like 'P17'."""

    h: int
    t: int
    r: str
    evidence: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


# (head entity, tail entity, relation id): a fact without its evidence, the key every curation step compares on
Triple = tuple[int, int, str]


@dataclass(frozen=True)
class Document:
    """A DocRED document. `facts is None` means unlabelled (no "labels" key), `()` means labelled-empty.

    `extra` keeps unknown top-level keys so export round-trips losslessly."""

    title: str
    sents: tuple[tuple[str, ...], ...]
    entities: tuple[Entity, ...]
    facts: tuple[Fact, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def has_labels(self) -> bool:
        return self.facts is not None

    @property
    def num_tokens(self) -> int:
        return sum(len(s) for s in self.sents)

    @property
    def num_entities(self) -> int:
        return len(self.entities)


@dataclass(frozen=True)
class LoadResult:
    """What a file yielded: its valid documents, one problem per invalid document (which is skipped), and
    warnings about valid ones (kept), such as a mention whose name differs from its tokens."""

    documents: tuple[Document, ...]
    problems: tuple[DocumentProblem, ...]
    warnings: tuple[DocumentProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


_DOC_KEYS = frozenset({"title", "sents", "vertexSet", "labels"})
_LABEL_KEYS = frozenset({"h", "t", "r", "evidence"})


def document_from_json(obj: Any, *, file: str, doc_index: int, schema: RelationSchema | None) -> Document:
    """Validate one DocRED document object and build it; `DocumentError` says file, document, field, index."""
    try:
        check_document(obj, schema=schema if schema is not None else default_schema(), entity_types=ENTITY_TYPES)
    except Fault as fault:
        title = obj.get("title") if isinstance(obj, dict) else None
        problem = DocumentProblem(
            file, doc_index, clip(title, 200) if isinstance(title, str) else "", fault.field, fault.index, fault.message
        )
        raise DocumentError(problem) from None
    entities = tuple(
        Entity(tuple(Mention(m["name"], m["sent_id"], m["pos"][0], m["pos"][1], m["type"]) for m in entity))
        for entity in obj["vertexSet"]
    )
    facts = None
    if "labels" in obj:
        facts = tuple(
            Fact(
                label["h"], label["t"], label["r"], tuple(label.get("evidence", ())),
                {k: v for k, v in label.items() if k not in _LABEL_KEYS},
            )
            for label in obj["labels"]
        )
    return Document(
        title=obj["title"],
        sents=tuple(tuple(sent) for sent in obj["sents"]),
        entities=entities,
        facts=facts,
        extra={k: v for k, v in obj.items() if k not in _DOC_KEYS},
    )


def parse_documents(data: Any, *, file: str = "<input>", schema: RelationSchema | None = None) -> LoadResult:
    """Turn parsed JSON into documents, keeping the valid ones so one bad document does not sink a file."""
    if not isinstance(data, list):
        raise InputFileError(
            f"{file}: expected a JSON list of documents, got {json_kind(data)}; "
            "a DocRED file is [ {document}, ... ] (wrap a single document in [ ])"
        )
    schema = schema if schema is not None else default_schema()
    documents: list[Document] = []
    problems: list[DocumentProblem] = []
    warnings: list[DocumentProblem] = []
    for i, obj in enumerate(data):
        try:
            documents.append(document_from_json(obj, file=file, doc_index=i, schema=schema))
        except DocumentError as err:
            problems.append(err.problem)
            continue
        warnings += [DocumentProblem(file, i, obj["title"], f.field, f.index, f.message)
                     for f in mention_name_faults(obj)]
    if problems:
        logger.warning("%s: %d of %d documents are invalid and were skipped", file, len(problems), len(data))
    for warning in warnings:
        logger.warning("%s", warning)
    return LoadResult(tuple(documents), tuple(problems), tuple(warnings))


def loads_documents(text: str | bytes, *, file: str, schema: RelationSchema | None = None) -> LoadResult:
    """Parse DocRED JSON text (an upload's bytes or a file's text); a UTF-8 byte-order mark is accepted."""
    if isinstance(text, (bytes, bytearray)):
        raw = bytes(text)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            line = raw.count(b"\n", 0, err.start) + 1
            column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
            raise InputFileError(
                f"{file}: not UTF-8 text: bad byte {raw[err.start]:#04x} at line {line}, column {column} "
                f"(byte offset {err.start}); save the file as UTF-8 and retry"
            ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise InputFileError(f"{file}: the file is empty; expected a JSON list of documents")
    try:
        data = json_input.loads(text, file)
    except json.JSONDecodeError as err:
        raise InputFileError(
            f"{file}: not valid JSON at line {err.lineno}, column {err.colno}: {err.msg}; "
            "expected a JSON list of DocRED documents (is the file complete?)"
        ) from None
    return parse_documents(data, file=file, schema=schema)


def read_documents(path: str | Path, schema: RelationSchema | None = None) -> LoadResult:
    """Read a DocRED JSON file; anything that makes the whole file unusable is an `InputFileError`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{path}: file not found; check the path (DocRED files end in .json)") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a directory; pass a DocRED JSON file") from None
    except OSError as err:
        raise InputFileError(f"{path}: cannot be read: {err.strerror}") from None
    return loads_documents(raw, file=str(path), schema=schema)


def document_to_json(doc: Document) -> dict[str, Any]:
    """DocRED JSON for one document, with the extras it was read with, so export is lossless."""
    obj: dict[str, Any] = {
        "title": doc.title,
        "sents": [list(sent) for sent in doc.sents],
        "vertexSet": [
            [{"name": m.name, "sent_id": m.sent_id, "pos": [m.start, m.end], "type": m.type} for m in entity.mentions]
            for entity in doc.entities
        ],
    }
    if doc.facts is not None:
        obj["labels"] = [
            {"h": f.h, "t": f.t, "r": f.r, "evidence": list(f.evidence)}
            | {k: v for k, v in f.extra.items() if k not in _LABEL_KEYS}
            for f in doc.facts
        ]
    obj.update({k: v for k, v in doc.extra.items() if k not in _DOC_KEYS})
    return obj


def write_documents(docs: Iterable[Document], path: str | Path) -> None:
    """Write a DocRED JSON file (UTF-8, non-ASCII kept) via a temporary file, so a crash leaves no half file."""
    path = Path(path)
    payload = json.dumps([document_to_json(d) for d in docs], ensure_ascii=False)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(payload, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def pair_labels(doc: Document) -> dict[tuple[int, int], set[str]]:
    """Gold relation ids per ordered (head, tail) pair; pairs absent from the dict are NA."""
    pairs: dict[tuple[int, int], set[str]] = {}
    for fact in doc.facts or ():
        pairs.setdefault((fact.h, fact.t), set()).add(fact.r)
    return pairs
