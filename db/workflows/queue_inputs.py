"""What ranking a dataset's review queue reads from the store: every run's scores per document, each document as
the suggestions see it, and the shipped type statistics. Shared by the first ranking (`scoring`) and every
re-ranking after a refit (`refit`), so the two never disagree, and neither imports the other's caller."""
from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from engine.data.documents import Document
from engine.data.pair_scores import PairScores

from .. import store

log = logging.getLogger(__name__)


def shipped_type_stats() -> Any:
    """The shipped type statistics, or None with a warning in the log and on the page when the file is missing
    or corrupt: the type rule is then neutral, as in the CLI, and the scoring job still stores its suggestions."""
    from engine.curate.type_stats import load_default_type_stats  # noqa: PLC0415

    stats, problem = load_default_type_stats()
    if problem:
        log.warning("%s", problem)
    return stats


def review_target(doc: Document) -> Document:
    """The document as suggestions see it: an unlabelled one counts as labelled-empty, so every confident
    prediction becomes a suggestion."""
    return doc if doc.has_labels else replace(doc, facts=())


def without_labels(doc: Document, gone: set[tuple[int, int, str]]) -> Document:
    """The document without the gold triples in `gone` (labels a curator confirmed wrong)."""
    if not gone or doc.facts is None:
        return doc
    return replace(doc, facts=tuple(f for f in doc.facts if (f.h, f.t, f.r) not in gone))


def document_scores(s: Session, dataset_id: int,
                    doc_ids: Sequence[int]) -> Iterator[tuple[int, dict[str, PairScores], list[int]]]:
    """Per document that some run scored: (document id, {"method#run id": its PairScores}, those run ids).
    The one way suggestions combine runs, for the first ranking and for every re-ranking after a refit."""
    runs = store.list_runs(s, dataset_id)
    scored = {run.id: set(store.scored_document_ids(s, run.id)) for run in runs}
    for doc_id in doc_ids:
        mine = [run for run in runs if doc_id in scored[run.id]]
        if mine:
            yield (doc_id, {f"{run.method}#{run.id}": store.load_pair_scores(s, run.id, doc_id) for run in mine},
                   [run.id for run in mine])
