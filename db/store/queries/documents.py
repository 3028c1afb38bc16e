"""Datasets and documents: all-or-nothing uploads deduplicated by content, documents back as `Document`."""
from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from engine.data.documents import Document, Entity, Fact, Mention
from engine.data.text_rules import check_text

from .. import models as m
from ..clock import as_utc, utc_now
from ..domain import AddResult, DatasetInfo, DocumentInfo, SkippedDocument
from ..errors import DuplicateError, NotFoundError
from ..filters import check_filters, check_paging

logger = logging.getLogger(__name__)

DOCUMENT_FILTERS = ("title", "has_labels")


def content_hash(doc: Document) -> str:
    """SHA-256 of the title, sentences and vertexSet: the same text and entities are the same document,
    whatever labels came with them."""
    payload = {
        "title": doc.title,
        "sents": [list(s) for s in doc.sents],
        "vertexSet": [[[x.name, x.sent_id, x.start, x.end, x.type] for x in e.mentions] for e in doc.entities],
    }
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def create_dataset(session: Session, name: str) -> DatasetInfo:
    """A new, empty dataset; names are unique."""
    name = check_text(name.strip(), "dataset name", "name")
    if not name:
        raise ValueError("dataset name: expected a non-empty name")
    if session.scalar(select(m.DatasetRow.id).where(m.DatasetRow.name == name)) is not None:
        raise DuplicateError(f"a dataset named {name!r} exists already; pick another name or add to that one")
    row = m.DatasetRow(name=name, created_at=utc_now())
    session.add(row)
    session.flush()
    return DatasetInfo(row.id, row.name, as_utc(row.created_at), 0)


def _dataset_query() -> Any:
    n_docs = select(func.count(m.DocumentRow.id)).where(m.DocumentRow.dataset_id == m.DatasetRow.id).scalar_subquery()
    return select(m.DatasetRow.id, m.DatasetRow.name, m.DatasetRow.created_at, n_docs)


def list_datasets(session: Session) -> list[DatasetInfo]:
    """Every dataset, oldest first, with its document count."""
    rows = session.execute(_dataset_query().order_by(m.DatasetRow.id))
    return [DatasetInfo(i, name, as_utc(created), n) for i, name, created, n in rows]


def get_dataset(session: Session, dataset: int | str) -> DatasetInfo:
    """A dataset by id or by name."""
    where = m.DatasetRow.id == dataset if isinstance(dataset, int) else m.DatasetRow.name == dataset
    row = session.execute(_dataset_query().where(where)).one_or_none()
    if row is None:
        raise NotFoundError(f"no dataset {dataset!r}; list_datasets() shows the ones there are")
    return DatasetInfo(row[0], row[1], as_utc(row[2]), row[3])


def fact_origin(fact: Fact) -> str:
    """"review" for a label review added (now, or in the export this upload came from), else "dataset"."""
    provenance = fact.extra.get("provenance")
    return "review" if isinstance(provenance, dict) and provenance.get("origin") == "review" else "dataset"


def _insert_returning_ids(session: Session, model: type[m.Base], rows: list[dict[str, Any]]) -> list[int]:
    """Bulk insert, ids back in the order of `rows` (one round trip per batch, not one per row)."""
    if not rows:
        return []
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)  # type: ignore[attr-defined]
    return list(session.scalars(statement, rows))


def _insert(session: Session, model: type[m.Base], rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(model), rows)


def add_documents(session: Session, dataset_id: int, documents: Iterable[Document],
                  sources: Sequence[Mapping[str, Any] | None] | None = None) -> AddResult:
    """Store an upload; documents whose content the dataset already holds are skipped, not stored twice.
    `sources`, one per document, are the JSON objects they were read from (kept for a lossless export).

    Nothing is committed here: if any document fails, the caller's rollback (session_scope) drops the
    whole upload."""
    if session.get(m.DatasetRow, dataset_id) is None:
        raise NotFoundError(f"no dataset with id {dataset_id}; create_dataset() first")
    known: dict[str, int | None] = dict(
        session.execute(select(m.DocumentRow.content_hash, m.DocumentRow.id)
                        .where(m.DocumentRow.dataset_id == dataset_id))
        .tuples().all())
    position = session.scalar(
        select(func.coalesce(func.max(m.DocumentRow.position) + 1, 0)).where(m.DocumentRow.dataset_id == dataset_id))
    fresh: list[Document] = []
    rows: list[dict[str, Any]] = []
    skipped: list[SkippedDocument] = []
    now = utc_now()
    documents = list(documents)
    if sources is not None and len(sources) != len(documents):
        raise ValueError(f"sources: expected one per document ({len(documents)}), got {len(sources)}")
    for index, doc in enumerate(documents):
        digest = content_hash(doc)
        if digest in known:
            skipped.append(SkippedDocument(index, doc.title, known[digest]))
            continue
        known[digest] = None
        fresh.append(doc)
        rows.append({"dataset_id": dataset_id, "position": position + len(rows), "title": doc.title,
                     "content_hash": digest, "sents": [list(s) for s in doc.sents], "extra": dict(doc.extra),
                     "has_labels": doc.facts is not None, "num_tokens": doc.num_tokens, "created_at": now,
                     "source": None if sources is None or sources[index] is None else dict(sources[index])})
    doc_ids = _insert_returning_ids(session, m.DocumentRow, rows)
    entity_ids = _insert_returning_ids(session, m.EntityRow, [
        {"document_id": doc_id, "idx": i} for doc_id, doc in zip(doc_ids, fresh, strict=True)
        for i in range(len(doc.entities))])
    entities = (entity for doc in fresh for entity in doc.entities)  # in the order their ids came back
    _insert(session, m.MentionRow, [
        {"entity_id": entity_id, "idx": j, "name": x.name, "sent_id": x.sent_id, "pos_start": x.start,
         "pos_end": x.end, "type": x.type}
        for entity, entity_id in zip(entities, entity_ids, strict=True) for j, x in enumerate(entity.mentions)])
    _insert(session, m.GoldFactRow, [
        {"document_id": doc_id, "position": k, "h": f.h, "t": f.t, "relation": f.r, "evidence": list(f.evidence),
         "extra": dict(f.extra), "origin": fact_origin(f)}
        for doc_id, doc in zip(doc_ids, fresh, strict=True) for k, f in enumerate(doc.facts or ())])
    logger.info("dataset %d: %d documents added, %d duplicates skipped", dataset_id, len(doc_ids), len(skipped))
    return AddResult(tuple(doc_ids), tuple(skipped))


def load_documents(session: Session, doc_ids: Sequence[int]) -> dict[int, Document]:
    """Documents as uploaded (no review outcome applied), by id; a missing id is a NotFoundError."""
    ids = list(doc_ids)
    mentions: dict[int, list[list[Mention]]] = defaultdict(list)
    for doc_id, entity_idx, name, sent_id, start, end, kind in session.execute(
            select(m.EntityRow.document_id, m.EntityRow.idx, m.MentionRow.name, m.MentionRow.sent_id,
                   m.MentionRow.pos_start,
                   m.MentionRow.pos_end, m.MentionRow.type)
            .outerjoin(m.MentionRow, m.MentionRow.entity_id == m.EntityRow.id)
            .where(m.EntityRow.document_id.in_(ids)).order_by(m.EntityRow.document_id, m.EntityRow.idx,
                                                              m.MentionRow.idx)):
        entities = mentions[doc_id]
        if len(entities) <= entity_idx:
            entities.append([])
        if name is not None:
            entities[-1].append(Mention(name, sent_id, start, end, kind))
    facts: dict[int, list[Fact]] = defaultdict(list)
    for doc_id, h, t, relation, evidence, extra in session.execute(
            select(m.GoldFactRow.document_id, m.GoldFactRow.h, m.GoldFactRow.t, m.GoldFactRow.relation,
                   m.GoldFactRow.evidence,
                   m.GoldFactRow.extra)
            .where(m.GoldFactRow.document_id.in_(ids)).order_by(m.GoldFactRow.document_id, m.GoldFactRow.position)):
        facts[doc_id].append(Fact(h, t, relation, tuple(evidence), dict(extra)))
    found = {
        doc_id: Document(title, tuple(tuple(s) for s in sents), tuple(Entity(tuple(e)) for e in mentions[doc_id]),
                         tuple(facts[doc_id]) if has_labels else None, dict(extra))
        for doc_id, title, sents, extra, has_labels in session.execute(
            select(m.DocumentRow.id, m.DocumentRow.title, m.DocumentRow.sents, m.DocumentRow.extra,
                   m.DocumentRow.has_labels)
            .where(m.DocumentRow.id.in_(ids)))
    }
    missing = sorted(set(ids) - set(found))
    if missing:
        raise NotFoundError(f"no document with id {missing[0]}" + (f" (and {len(missing) - 1} more)" if missing[1:]
                                                                   else ""))
    return found


def load_sources(session: Session, doc_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The uploaded JSON objects of those documents that have one, by id."""
    return {i: src for i, src in session.execute(
        select(m.DocumentRow.id, m.DocumentRow.source).where(m.DocumentRow.id.in_(list(doc_ids)),
                                                             m.DocumentRow.source.is_not(None)))
        if src is not None}


def load_document(session: Session, doc_id: int) -> Document:
    """One document as uploaded."""
    return load_documents(session, [doc_id])[doc_id]


def document_ids(session: Session, dataset_id: int) -> list[int]:
    """A dataset's document ids in upload order."""
    return list(session.scalars(
        select(m.DocumentRow.id).where(m.DocumentRow.dataset_id == dataset_id).order_by(m.DocumentRow.position)))


def list_documents(session: Session, dataset_id: int, filters: Mapping[str, Any] | None = None, *,
                   limit: int | None = None, offset: int = 0) -> list[DocumentInfo]:
    """A dataset's documents in upload order; filters: title (substring, any case), has_labels (bool)."""
    given = check_filters(filters, DOCUMENT_FILTERS, what="document")
    n_entities = (select(func.count(m.EntityRow.id)).where(m.EntityRow.document_id == m.DocumentRow.id)
                  .scalar_subquery())
    n_facts = (select(func.count(m.GoldFactRow.id)).where(m.GoldFactRow.document_id == m.DocumentRow.id)
               .scalar_subquery())
    query = (select(m.DocumentRow.id, m.DocumentRow.dataset_id, m.DocumentRow.position, m.DocumentRow.title, n_entities,
                    m.DocumentRow.num_tokens, n_facts, m.DocumentRow.has_labels)
             .where(m.DocumentRow.dataset_id == dataset_id).order_by(m.DocumentRow.position))
    if "title" in given:
        query = query.where(func.lower(m.DocumentRow.title).contains(str(given["title"]).lower(), autoescape=True))
    if "has_labels" in given:
        query = query.where(m.DocumentRow.has_labels.is_(bool(given["has_labels"])))
    if limit is not None:
        check_paging(limit, offset)
        query = query.limit(limit).offset(offset)
    elif offset:
        query = query.offset(offset)
    return [DocumentInfo(*row) for row in session.execute(query)]
