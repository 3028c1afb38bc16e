"""Uploads and documents: parse DocRED JSON or raw text, let the user fix entities in a table, store
valid documents, and read them back (cached by id, cleared after writes)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from db import store
from db.store.domain import AddResult, DatasetInfo, DocumentInfo
from db.store.errors import ConflictError
from db.workflows import upload_stream, uploads
from db.workflows.uploads import ParsedUpload
from engine.data.documents import ENTITY_TYPES, Document, Entity, Mention, document_from_json, document_to_json
from engine.errors import DocreError, DocumentError, InputFileError
from engine.settings import get_settings

from .resources import db_key, factory, session

MENTION_COLUMNS = ("entity", "name", "type", "sentence", "start", "end")


class UploadError(DocreError):
    """An upload cannot be used at all (too large, wrong encoding, not JSON); nothing is stored."""


def upload_limit_mb() -> int:
    """DOCRE_MAX_UPLOAD_MB (engine.settings), in local and team mode; pasted text obeys the same limit.
    Streamlit's server.maxUploadSize (.streamlit/config.toml) must be at least as large."""
    return get_settings().max_upload_mb


def check_size(n_bytes: int, what: str) -> None:
    try:
        upload_stream.check_upload_size(n_bytes, what, upload_limit_mb())
    except InputFileError as err:
        raise UploadError(str(err)) from None


@st.cache_data(show_spinner=False, max_entries=4)
def _scan(data: bytes, filename: str) -> upload_stream.UploadScan | str:
    try:
        return upload_stream.scan_upload(data, filename)
    except InputFileError as err:
        return str(err)


def scan_docred(data: bytes, filename: str) -> upload_stream.UploadScan:
    """The Upload page's check of a DocRED JSON file, read as a stream (no document kept): counts, problems and
    warnings; unusable files (an empty list too) raise UploadError. Cached by content."""
    check_size(len(data), filename)
    result = _scan(data, filename)
    if isinstance(result, str):
        raise UploadError(result)
    return result


def store_docred(dataset_name: str, data: bytes, filename: str) -> tuple[int, AddResult]:
    """Store an upload's valid documents as a stream, in batches, all or nothing (db.workflows.upload_stream)."""
    check_size(len(data), filename)
    try:
        dataset, result = upload_stream.store_upload_stream(factory(), dataset_name, data, filename)
    except (ConflictError, InputFileError) as err:
        raise UploadError(str(err)) from None
    clear_caches()
    return dataset.id, result


@st.cache_data(show_spinner=False, max_entries=4)
def _parse(data: bytes, filename: str) -> ParsedUpload | str:
    try:
        return uploads.parse_upload(data, filename)
    except InputFileError as err:
        return str(err)


def parse_docred(data: bytes, filename: str) -> ParsedUpload:
    """A DocRED JSON upload -> valid documents plus one problem per invalid one; unusable files (an empty list
    too) raise. Cached by content, so reruns of the page do not parse the file again."""
    check_size(len(data), filename)
    result = _parse(data, filename)
    if isinstance(result, str):
        raise UploadError(result)
    return result


def text_input_problem(has_file: bool, pasted: str) -> str | None:
    """Why the Text tab's input cannot be read as given, or None: a file and pasted text at once (which one
    was meant?), or pasted text that is only spaces and line breaks."""
    if has_file and pasted.strip():
        return ("Both a text file and pasted text are given; nothing was read. Remove the file (×) or clear the "
                "pasted text, then press Find entities again.")
    if not has_file and not pasted.strip():
        return ("The pasted text is empty" + (" (only spaces or line breaks)" if pasted else "")
                + "; paste some text or choose a .txt file.")
    return None


def ingest(data: bytes, filename: str) -> Document:
    """A .txt upload or pasted text -> a Document whose entities the engine found (spaCy)."""
    check_size(len(data), filename)
    from engine.data.ingest import ingest_bytes  # noqa: PLC0415 - loads spaCy, only for text

    try:
        return ingest_bytes(data, filename=filename)
    except InputFileError as err:
        raise UploadError(str(err)) from None
    except ImportError as err:
        raise UploadError(f"reading raw text needs spaCy and its English model: {err}") from None


def mention_table(doc: Document) -> pd.DataFrame:
    """One row per mention, for st.data_editor: entity (group id), name, type, sentence, token start/end."""
    rows = [{"entity": e, "name": m.name, "type": m.type, "sentence": m.sent_id, "start": m.start, "end": m.end}
            for e, entity in enumerate(doc.entities) for m in entity.mentions]
    return pd.DataFrame(rows, columns=list(MENTION_COLUMNS))


def _int(value: Any, row: int, column: str) -> int:
    try:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            raise ValueError
        return int(value)
    except (TypeError, ValueError):
        raise UploadError(f"row {row + 1}: {column} must be a whole number, got {value!r}") from None


def document_from_table(doc: Document, rows: Sequence[Mapping[str, Any]], title: str | None = None) -> Document:
    """Rebuild the document's entities from edited mention rows: rows with the same entity number form one
    entity (numbered again in order of first appearance); a mention's name is its tokens."""
    groups: dict[int, list[Mention]] = {}
    for k, row in enumerate(rows):
        if all(row.get(c) is None or (isinstance(row.get(c), float) and pd.isna(row.get(c))) for c in MENTION_COLUMNS):
            continue  # an empty row the editor added
        entity, sent = _int(row.get("entity"), k, "entity"), _int(row.get("sentence"), k, "sentence")
        start, end = _int(row.get("start"), k, "start"), _int(row.get("end"), k, "end")
        etype = str(row.get("type") or "").strip().upper()
        if etype not in ENTITY_TYPES:
            raise UploadError(f"row {k + 1}: type must be one of {', '.join(ENTITY_TYPES)}, got {row.get('type')!r}")
        if not 0 <= sent < len(doc.sents):
            raise UploadError(f"row {k + 1}: sentence must be 0..{len(doc.sents) - 1}, got {sent}")
        if not 0 <= start < end <= len(doc.sents[sent]):
            raise UploadError(f"row {k + 1}: tokens start..end must satisfy 0 <= start < end <= "
                              f"{len(doc.sents[sent])} (sentence {sent} length), got {start}..{end}")
        name = " ".join(doc.sents[sent][start:end])
        groups.setdefault(entity, []).append(Mention(name, sent, start, end, etype))
    if not groups:
        raise UploadError("no mentions left: a document needs at least one entity")
    ordered = sorted(groups.values(), key=lambda ms: min((m.sent_id, m.start) for m in ms))
    entities = []
    for mentions in ordered:
        mentions = sorted(set(mentions), key=lambda m: (m.sent_id, m.start, m.end))
        etype = mentions[0].type
        entities.append(Entity(tuple(Mention(m.name, m.sent_id, m.start, m.end, etype) for m in mentions)))
    rebuilt = Document(title or doc.title, doc.sents, tuple(entities), doc.facts, doc.extra)
    try:  # the engine's own validation: the stored document must read back
        return document_from_json(document_to_json(rebuilt), file="edited table", doc_index=0, schema=None)
    except DocumentError as err:
        raise UploadError(str(err)) from None


def store_upload(dataset_name: str, documents: Sequence[Document],
                 sources: Sequence[Mapping[str, Any] | None] | None = None) -> tuple[int, AddResult]:
    """Store documents into a dataset (created when new); all or nothing, and safe against another upload into
    the same dataset at the same moment (db.workflows.uploads retries). `sources`: the JSON objects the documents were
    read from, one each (export starts from them). Returns (dataset id, result)."""
    try:
        dataset, result = uploads.store_upload(factory(), dataset_name, documents, sources=sources)
    except ConflictError as err:
        raise UploadError(str(err)) from None
    clear_caches()
    return dataset.id, result


@st.cache_data(show_spinner=False)
def _datasets(key: str) -> list[DatasetInfo]:
    with session() as s:
        return store.list_datasets(s)


def datasets() -> list[DatasetInfo]:
    return _datasets(db_key())


@st.cache_data(show_spinner=False)
def _documents(key: str, dataset_id: int) -> list[DocumentInfo]:
    with session() as s:
        return store.list_documents(s, dataset_id)


def documents(dataset_id: int, title: str = "") -> list[DocumentInfo]:
    """A dataset's documents in upload order, optionally only titles containing `title`."""
    docs = _documents(db_key(), dataset_id)
    needle = title.strip().casefold()
    return [d for d in docs if needle in d.title.casefold()] if needle else docs


@st.cache_data(show_spinner=False, max_entries=256)
def _document(key: str, doc_id: int) -> Document:
    with session() as s:
        return store.load_document(s, doc_id)


def document(doc_id: int) -> Document:
    return _document(db_key(), doc_id)


@dataclass(frozen=True)
class PairSentences:
    """Where a pair is stated: sentences naming both, the gold labels' evidence, the sentences naming each entity,
    and what to show."""

    shared: tuple[int, ...]
    gold: tuple[int, ...]
    shown: tuple[int, ...]
    head: tuple[int, ...] = ()
    tail: tuple[int, ...] = ()


def pair_sentences(doc: Document, h: int, t: int) -> PairSentences:
    """The evidence sentences of a pair: those naming both entities and the gold evidence of its labels; for an
    inter-sentence pair with neither, the sentences naming the head and those naming the tail, so the text that
    links them is on screen."""
    head = sorted({m.sent_id for m in doc.entities[h].mentions if 0 <= m.sent_id < len(doc.sents)})
    tail = sorted({m.sent_id for m in doc.entities[t].mentions if 0 <= m.sent_id < len(doc.sents)})
    shared = sorted(set(head) & set(tail))
    gold = sorted({s for f in doc.facts or () if (f.h, f.t) == (h, t) for s in f.evidence})
    shown = sorted(s for s in set(shared) | set(gold) if 0 <= s < len(doc.sents)) or sorted(set(head) | set(tail))
    return PairSentences(tuple(shared), tuple(gold), tuple(shown), tuple(head), tuple(tail))


def gold_relations(doc: Document, h: int, t: int) -> set[str]:
    """The gold relation ids of the ordered pair (empty for unlabelled documents)."""
    return {f.r for f in doc.facts or () if (f.h, f.t) == (h, t)}


def clear_caches() -> None:
    """After a write: drop cached listings (documents by id change only through an entity edit)."""
    _datasets.clear()
    _documents.clear()


def clear_document_caches() -> None:
    """After an entity edit: the edited document and the listings that count its entities."""
    _document.clear()
    _documents.clear()
