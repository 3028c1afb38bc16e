"""Parallel logins from real processes: each process fires its share of wrong-password attempts on one account
from many threads at once (after a barrier shared with the other processes), and counts the password checks
it ran. Used by tests/db/accounts/test_login_race.py with multiprocessing's spawn context."""
from __future__ import annotations

import sys
import threading
import types
from typing import Any

NAME, WRONG = "carol", "not the right password at all"


def login_worker(url: str, attempts: int, barrier: Any, results: Any) -> None:
    """`attempts` parallel wrong logins on NAME; puts (password checks run, outcomes seen)."""
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
            outcome = login_audit.attempt_login(factory, NAME, WRONG, client=f"ip:10.0.{k}.1", policy=policy,
                                                now=utc_now())
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


def run_processes(target: Any, *per_process: tuple[Any, ...]) -> list[Any]:
    """Run `target(*args, barrier, queue)` in one spawned process per args tuple; their results."""
    import multiprocessing  # noqa: PLC0415

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(per_process)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, results)) for args in per_process]
    main = sys.modules["__main__"]  # start from a bare __main__ (see tests/db/workflows/test_races.collide)
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        for proc in procs:
            proc.start()
    finally:
        sys.modules["__main__"] = main
    try:
        return [results.get(timeout=300) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=60)
            if proc.is_alive():
                proc.kill()
