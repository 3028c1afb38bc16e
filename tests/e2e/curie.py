"""The small document the annotation browser tests share: Marie Curie, five places, and a surname ("Curie") that
ingest left apart from the full name, so a merge has something to join."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.data.documents import Document, Entity, Fact, Mention

CURIE = Document(
    title="Marie Curie",
    sents=(("Marie", "Curie", "was", "born", "in", "Warsaw", ",", "Poland", "."),
           ("Curie", "later", "moved", "to", "Paris", "in", "France", ".")),
    entities=(
        Entity((Mention("Marie Curie", 0, 0, 2, "PER"),)),
        Entity((Mention("Warsaw", 0, 5, 6, "LOC"),)),
        Entity((Mention("Poland", 0, 7, 8, "LOC"),)),
        Entity((Mention("Curie", 1, 0, 1, "PER"),)),  # the surname ingest left apart from the full name
        Entity((Mention("Paris", 1, 4, 5, "LOC"),)),
        Entity((Mention("France", 1, 6, 7, "LOC"),)),
    ),
    facts=(Fact(0, 1, "P19", (0,)), Fact(3, 5, "P27", (1,)), Fact(4, 5, "P17", (1,))),
)


@contextmanager
def curie_store(tmp: Path, annotator: str) -> Iterator[tuple[str, Any, Any, int]]:
    """A new SQLite store at tmp/app.sqlite holding CURIE as an upload and the annotator. Yields the store's URL,
    an open session for the test's own data (committed on exit), the dataset and the document id; the engine is
    disposed before the server process opens the file."""
    from db import store  # noqa: PLC0415 - the store only once the test is known to run
    from db.store.session import init_db, make_engine, session_factory, session_scope  # noqa: PLC0415
    from db.workflows.uploads import store_upload  # noqa: PLC0415

    url = f"sqlite:///{tmp / 'app.sqlite'}"
    engine = make_engine(url)
    try:
        init_db(engine)
        factory = session_factory(engine)
        dataset, result = store_upload(factory, "curie", [CURIE])
        (doc_id,) = result.added
        with session_scope(factory) as s:
            store.ensure_annotator(s, annotator)
            yield url, s, dataset, doc_id
    finally:
        engine.dispose()
