"""Downloads: the dataset as DocRED JSON with the review applied (accepted triples added with provenance,
rejected gold triples removed), and the review log as CSV."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from db import store
from engine.data.documents import Document, document_to_json

from .resources import session

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportSummary:
    documents: int
    labels: int
    added_by_review: int


def reviewed_dataset(dataset_id: int) -> list[Document]:
    with session() as s:
        return store.export_documents(s, dataset_id)


def summary(docs: Sequence[Document]) -> ExportSummary:
    facts = [f for d in docs for f in d.facts or ()]
    added = sum(isinstance(f.extra.get("provenance"), dict) and f.extra["provenance"].get("origin") == "review"
                for f in facts)
    return ExportSummary(len(docs), len(facts), added)


def added_rows(docs: Sequence[Document], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """One row per label that review added: where, what, who, when, with which score."""
    rows = []
    for doc in docs:
        for f in doc.facts or ():
            prov = f.extra.get("provenance")
            if not (isinstance(prov, dict) and prov.get("origin") == "review"):
                continue
            rows.append({"document": doc.title, "head": doc.entities[f.h].name, "tail": doc.entities[f.t].name,
                         "relation": f"{names.get(f.r, f.r)} ({f.r})", "corrected": prov.get("corrected"),
                         "annotator": prov.get("annotator"), "decided (UTC)": prov.get("decided_at"),
                         "score": prov.get("score")})
    return rows


def docred_json(docs: Sequence[Document]) -> bytes:
    """DocRED JSON (UTF-8, non-ASCII kept) that engine.data.documents reads back to equal documents."""
    return json.dumps([document_to_json(d) for d in docs], ensure_ascii=False).encode("utf-8")


def dataset_json(dataset_id: int) -> bytes:
    """The Export page's (and `python -m db export`'s) file: every uploaded key kept, review applied."""
    with session() as s:
        objects = store.export_json(s, dataset_id)
    return json.dumps(objects, ensure_ascii=False).encode("utf-8")


def _cell(value: object) -> object:
    """Spreadsheet formula injection guard: text starting like a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def review_log_csv(dataset_id: int) -> bytes:
    """The whole review log, oldest first, one row per decision or undo (columns: REVIEW_LOG_COLUMNS)."""
    with session() as s:
        rows = store.review_log_rows(s, dataset_id)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(store.REVIEW_LOG_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue().encode("utf-8")
