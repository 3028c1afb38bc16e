"""A DocRED JSON upload read and stored as a stream: documents are decoded one at a time from the uploaded bytes
and stored in batches inside one transaction, so an upload stays all or nothing while memory holds the bytes and
one batch (parsing the whole file at once, then storing it, took a 44 MB upload to 2.25 GB)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from engine.data.docred_rules import mention_name_faults
from engine.data.documents import Document, document_from_json
from engine.data.schema import default_schema
from engine.data.streaming import iter_json_bytes
from engine.errors import DocumentError, DocumentProblem, InputFileError
from engine.settings import get_settings

from ..store.domain import AddResult, DatasetInfo
from .uploads import store_batches

BATCH_DOCS = 200  # documents stored per flush: bounds memory while the transaction holds the rest


class UploadTooLargeError(InputFileError):
    """An upload over DOCRE_MAX_UPLOAD_MB; nothing is read or stored."""


@dataclass(frozen=True)
class UploadScan:
    """What an upload holds, without keeping its documents: how many are valid, one problem per invalid one,
    and warnings about valid ones (kept when stored)."""

    valid: int
    problems: tuple[DocumentProblem, ...]
    warnings: tuple[DocumentProblem, ...]


def check_upload_size(n_bytes: int, name: str, limit: int | None = None) -> None:
    """Refuse an upload over `limit` MB, by default DOCRE_MAX_UPLOAD_MB (local and team mode alike, and the
    CLI's import)."""
    limit = get_settings().max_upload_mb if limit is None else limit
    if n_bytes > limit * 1024 * 1024:
        raise UploadTooLargeError(f"{name} is {n_bytes / 1024 / 1024:.1f} MB, over the {limit} MB upload limit; "
                                  "split it into smaller files (or raise DOCRE_MAX_UPLOAD_MB)")


def _documents(data: bytes, name: str, problems: list | None = None,
               warnings: list | None = None) -> Iterator[tuple[Document, dict[str, Any]]]:
    """(document, its JSON object) for each valid document; problems and warnings appended when lists given."""
    check_upload_size(len(data), name)
    schema, seen = default_schema(), False
    for index, obj in iter_json_bytes(data, name):
        seen = True
        try:
            doc = document_from_json(obj, file=name, doc_index=index, schema=schema)
        except DocumentError as err:
            if problems is not None:
                problems.append(err.problem)
            continue
        if warnings is not None:
            warnings += [DocumentProblem(name, index, doc.title, f.field, f.index, f.message)
                         for f in mention_name_faults(obj)]
        yield doc, obj
    if not seen:
        raise InputFileError(f"{name}: the file holds no documents (an empty JSON list); a DocRED file is a "
                             'list of documents: [ {"title": ..., "sents": ..., "vertexSet": ...}, ... ]')


def scan_upload(data: bytes, name: str) -> UploadScan:
    """Validate every document of an upload, keeping none: what the Upload page shows before storing."""
    problems: list[DocumentProblem] = []
    warnings: list[DocumentProblem] = []
    valid = sum(1 for _ in _documents(data, name, problems, warnings))
    return UploadScan(valid, tuple(problems), tuple(warnings))


def _batches(data: bytes, name: str) -> Iterator[tuple[list[Document], list[dict[str, Any]]]]:
    docs: list[Document] = []
    sources: list[dict[str, Any]] = []
    for doc, obj in _documents(data, name):
        docs.append(doc)
        sources.append(obj)
        if len(docs) == BATCH_DOCS:
            yield docs, sources
            docs, sources = [], []
    if docs:
        yield docs, sources


def store_upload_stream(factory_: sessionmaker[Session], dataset_name: str, data: bytes,
                        name: str) -> tuple[DatasetInfo, AddResult]:
    """Store an upload's valid documents (each with its JSON object) into the named dataset, all or nothing,
    BATCH_DOCS at a time in one transaction; races with other uploads are retried as db.workflows.uploads does."""
    return store_batches(factory_, dataset_name, lambda: _batches(data, name))
