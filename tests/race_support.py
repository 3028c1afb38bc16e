"""Two real processes that collide: each runs an app service call, and both wait at a barrier just before their
first write of one kind (an SQL statement prefix), so both have read the same state before either writes.

Used by tests/db/workflows/test_races.py with multiprocessing's spawn context; results come back on a queue as
("ok", value) or (exception class name, message, whether it is one of the store's own errors)."""
from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, event


def collide_before(engine: Engine, prefix: str, barrier: Any) -> None:
    """Block the first statement starting with `prefix` until the other process reaches its own."""
    waited = False

    def wait(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal waited
        if not waited and statement.lstrip().upper().startswith(prefix.upper()):
            waited = True
            barrier.wait(timeout=120)

    event.listen(engine, "before_cursor_execute", wait)


def _services(url: str, prefix: str, barrier: Any) -> Any:
    os.environ["DOCRE_DATABASE_URL"] = url
    os.environ.pop("DOCRE_AUTH", None)
    from app import services  # after the environment names the database

    collide_before(services.resources.factory().kw["bind"], prefix, barrier)
    return services


def _report(results: Any, call: Any) -> None:
    from db.store.errors import StoreError  # noqa: PLC0415

    try:
        results.put(("ok", call()))
    except Exception as err:  # noqa: BLE001 - the test decides what was acceptable
        results.put((type(err).__name__, str(err), isinstance(err, StoreError)))


def undo_worker(url: str, annotator: str, barrier: Any, results: Any) -> None:
    """The Review page's undo button, pressed in one tab."""
    services = _services(url, "INSERT INTO reviews", barrier)
    _report(results, lambda: services.review.undo(annotator).id)


def upload_worker(url: str, dataset: str, titles: list[str], prefix: str, barrier: Any, results: Any) -> None:
    """The Upload page storing documents titled `titles` into `dataset`."""
    from tests.db_support import tiny_document

    services = _services(url, prefix, barrier)
    docs = [tiny_document(title) for title in titles]
    _report(results, lambda: list(services.documents.store_upload(dataset, docs)[1].added))
