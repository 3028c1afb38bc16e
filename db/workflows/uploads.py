"""An upload as one unit of work that survives concurrent uploads: find or create the dataset, add the documents,
commit; when another upload into the same dataset wins a race (the dataset's name, a position, the same
content), the whole unit is retried on the new state, so neither upload is lost and positions stay unique."""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from engine.data import json_input
from engine.data.documents import Document, loads_documents
from engine.errors import DocumentProblem, InputFileError

from ..store.conflicts import UPLOAD_KEYS
from ..store.domain import AddResult, DatasetInfo, SkippedDocument
from ..store.errors import ConflictError, NotFoundError
from ..store.queries.documents import add_documents, create_dataset, get_dataset
from ..store.session import session_scope

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParsedUpload:
    """A DocRED JSON upload: its valid documents, one problem per invalid one, and each valid document's JSON
    object as uploaded (stored with it, so export keeps every key)."""

    documents: tuple[Document, ...]
    problems: tuple[DocumentProblem, ...]
    sources: tuple[dict[str, Any], ...]
    warnings: tuple[DocumentProblem, ...] = ()  # about valid documents (kept), e.g. a mention name unlike its tokens


def parse_upload(data: bytes, filename: str) -> ParsedUpload:
    """The Upload page's and `python -m db import`'s reading of a DocRED JSON file: InputFileError when the
    file cannot be used at all (not UTF-8, not JSON, not a list, an empty list), else valid documents and
    one problem per invalid one."""
    result = loads_documents(data, file=filename)
    raw = json_input.loads(data.decode("utf-8-sig"), filename)  # valid JSON: the engine has just read it
    if not raw:
        raise InputFileError(f"{filename}: the file holds no documents (an empty JSON list); a DocRED file is a "
                             'list of documents: [ {"title": ..., "sents": ..., "vertexSet": ...}, ... ]')
    invalid = {p.doc_index for p in result.problems}
    return ParsedUpload(result.documents, result.problems, tuple(obj for i, obj in enumerate(raw) if i not in invalid),
                        result.warnings)

ATTEMPTS = 5


def store_upload(factory: sessionmaker[Session], dataset_name: str, documents: Sequence[Document], *,
                 sources: Sequence[Mapping[str, Any] | None] | None = None, attempts: int = ATTEMPTS,
                 pause: Callable[[float], None] = time.sleep) -> tuple[DatasetInfo, AddResult]:
    """Store documents into the named dataset (created when new), all or nothing, retrying lost races.

    `sources`: the JSON object each document was read from (kept for a lossless export).
    Raises ConflictError when every attempt lost a race (nothing of this upload is stored then)."""
    return store_batches(factory, dataset_name, lambda: iter([(documents, sources)]), attempts=attempts, pause=pause)


Batches = Iterable[tuple[Sequence[Document], Sequence[Mapping[str, Any] | None] | None]]


def store_batches(factory: sessionmaker[Session], dataset_name: str, make_batches: Callable[[], Batches], *,
                  attempts: int = ATTEMPTS,
                  pause: Callable[[float], None] = time.sleep) -> tuple[DatasetInfo, AddResult]:
    """Store (documents, sources) batches into the named dataset in one transaction, all or nothing; a lost race
    retries the whole unit on the new state, with batches made afresh by `make_batches`."""
    name = dataset_name.strip()
    for attempt in range(1, attempts + 1):
        try:
            with session_scope(factory) as session:
                try:
                    dataset = get_dataset(session, name)
                except NotFoundError:
                    dataset = create_dataset(session, name)
                results, sizes = [], []
                for documents, sources in make_batches():
                    results.append(add_documents(session, dataset.id, documents, sources))
                    sizes.append(len(documents))
                    session.expunge_all()  # the batch's rows are flushed: let them go
            return dataset, merge_results(results, sizes)
        except IntegrityError as err:
            if not any(key.matches(err) for key in UPLOAD_KEYS):
                raise
            logger.info("upload into %r collided with another upload (attempt %d of %d); retrying",
                        name, attempt, attempts)
            pause(random.uniform(0.0, 0.05 * attempt))  # out of step with the other writer
    raise ConflictError(f"dataset {name!r}: other uploads into it were being stored at the same moment "
                        f"{attempts} times in a row; nothing of this upload was stored, store it again")


def merge_results(results: list[AddResult], sizes: list[int]) -> AddResult:
    """One AddResult for batches stored in order (skipped indices counted from the upload's first document)."""
    added: list[int] = []
    skipped: list[SkippedDocument] = []
    offset = 0
    for result, size in zip(results, sizes, strict=True):
        added += result.added
        skipped += [SkippedDocument(s.index + offset, s.title, s.existing_id) for s in result.skipped]
        offset += size
    return AddResult(tuple(added), tuple(skipped))
