"""An export keeps the uploaded JSON's key order on PostgreSQL too (issue 27: JSONB reordered the keys, shorter
first), for the document's extra keys, its mentions' and labels' keys, and after the migration from JSONB."""
from __future__ import annotations

import json

from db import store
from db.store.session import session_scope
from db.workflows import uploads
from tests.paths import SHARED_DATA


def test_export_keeps_the_uploaded_key_order(factory) -> None:
    doc = json.loads((SHARED_DATA / "redocred" / "dev_revised.json").read_text(encoding="utf-8"))[0]
    odd = {"zeta_long_key": 1, "vertexSet": doc["vertexSet"], "a": {"yy": 1, "b": 2}, "title": doc["title"],
           "labels": [dict(reversed(list(label.items()))) for label in doc["labels"]], "sents": doc["sents"],
           "mid": [3]}
    parsed = uploads.parse_upload(json.dumps([odd]).encode("utf-8"), "odd.json")
    dataset, _ = uploads.store_upload(factory, "order", parsed.documents, sources=parsed.sources)
    with session_scope(factory) as s:
        (exported,) = store.export_json(s, dataset.id)
    assert list(exported) == list(odd)
    assert list(exported["a"]) == ["yy", "b"]
    assert [list(label) for label in exported["labels"]] == [list(label) for label in odd["labels"]]
