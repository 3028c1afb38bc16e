"""Real processes that collide, started with multiprocessing's spawn context (`collide`).

Two app service calls (tests/db/workflows/test_races.py, test_races_defined.py) wait at a barrier just before
their first write (or read) of one kind (an SQL statement prefix), so both have read the same state before either
writes; results come back on a queue as ("ok", value) or (exception class name, message, whether it is one of the
store's own errors). Parallel logins (tests/db/accounts/test_login_race.py): each process fires its share of
wrong-password attempts on one account from many threads at once, after a barrier shared with the other
processes, and counts the password checks it ran."""
from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import types
from typing import Any

from sqlalchemy import Engine, event

LOGIN_NAME, WRONG_PASSWORD = "carol", "not the right password at all"


def collide(target: Any, *per_process: tuple[Any, ...], timeout: float = 180) -> list[Any]:
    """Run `target(*args, barrier, queue)` in one new process per args tuple; their results, in any order."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(per_process)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, results)) for args in per_process]
    # spawn re-runs the parent's __main__ in each child, and after an AppTest that is app/main.py, whose start-up
    # opens the configured database: both children then raced to create its schema. Start them from a bare one.
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        for proc in procs:
            proc.start()
    finally:
        sys.modules["__main__"] = main
    try:
        return [results.get(timeout=timeout) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=60)
            if proc.is_alive():
                proc.kill()


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


def undo_expecting_worker(url: str, annotator: str, expected: int, barrier: Any, results: Any) -> None:
    """The Review page's undo button, pressed in one tab that showed `expected` as the latest decision."""
    services = _services(url, "SELECT reviews", barrier)
    _report(results, lambda: services.review.undo(annotator, expected_id=expected).id)


def first_use_worker(url: str, name: str, barrier: Any, results: Any) -> None:
    """A name typed on the Review page for the first time, in one tab."""
    services = _services(url, "INSERT INTO annotators", barrier)
    _report(results, lambda: services.review.ensure_annotator(name).id)


def accept_worker(url: str, suggestion_id: int, annotator: str, relation: str, barrier: Any, results: Any) -> None:
    """An accept of `suggestion_id` as `relation`, pressed on the Review page."""
    services = _services(url, "SELECT suggestions", barrier)
    _report(results, lambda: services.review.decide(suggestion_id, annotator, "accept", relation=relation))


def login_worker(url: str, attempts: int, barrier: Any, results: Any) -> None:
    """`attempts` parallel wrong logins on LOGIN_NAME; puts (password checks run, outcomes seen)."""
    from db.accounts import login_audit  # noqa: PLC0415 - in the child process
    from db.accounts.login_throttle import LoginPolicy  # noqa: PLC0415
    from db.store.clock import utc_now  # noqa: PLC0415
    from db.store.session import make_engine, session_factory  # noqa: PLC0415

    checks, lock = [0], threading.Lock()
    real = login_audit.authenticate

    def counted(*args: Any, **kwargs: Any) -> Any:
        with lock:
            checks[0] += 1
        return real(*args, **kwargs)

    login_audit.authenticate = counted
    engine = make_engine(url, **({} if url.startswith("sqlite") else {"pool_size": attempts}))
    factory = session_factory(engine)
    policy = LoginPolicy(max_failures=5, max_failures_per_client=1000, max_failures_global=1000)
    outcomes: list[str] = []
    start = threading.Barrier(attempts)

    def one(k: int) -> None:
        start.wait(timeout=120)
        try:
            outcome = login_audit.attempt_login(factory, LOGIN_NAME, WRONG_PASSWORD, client=f"ip:10.0.{k}.1",
                                                policy=policy, now=utc_now())
            outcomes.append("locked" if outcome.delay_seconds == 0 else "checked")
        except Exception as err:  # noqa: BLE001 - the test decides
            outcomes.append(f"{type(err).__name__}: {err}")

    barrier.wait(timeout=120)
    threads = [threading.Thread(target=one, args=(k,)) for k in range(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    engine.dispose()
    results.put((checks[0], outcomes))
