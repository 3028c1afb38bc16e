"""`python -m app.worker`: a scoring worker as its own process (teams run one or more beside the app, with
DOCRE_WORKER=external set for the app). It runs queued jobs and, while it runs, re-queues jobs a dead worker
left (their heartbeat older than --stale-seconds)."""
from __future__ import annotations

import argparse
import logging
import threading

from db.workflows.worker import HEARTBEAT_SECONDS, STALE_SECONDS, drain, open_factory, recover, serve, worker_id
from engine.serve.native_memory import bound_kernel_caches


def main(argv: list[str] | None = None) -> int:
    bound_kernel_caches()  # before any model runs: a worker scores corpus after corpus (see native_memory)
    parser = argparse.ArgumentParser(prog="python -m app.worker", description=__doc__)
    parser.add_argument("--database", help="database URL (default: DOCRE_DATABASE_URL, else the app's SQLite file)")
    parser.add_argument("--once", action="store_true", help="run the queued jobs, then exit")
    parser.add_argument("--stale-seconds", type=float, default=STALE_SECONDS,
                        help="a running job whose heartbeat is older belongs to a dead worker (default %(default)s)")
    parser.add_argument("--heartbeat-seconds", type=float, default=HEARTBEAT_SECONDS,
                        help="how often a running job's heartbeat is refreshed; keep it well under every worker's "
                             "--stale-seconds (default %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    factory_ = open_factory(args.database)
    if args.once:
        recover(factory_, args.stale_seconds)
        drain(factory_, worker_id(), heartbeat_seconds=args.heartbeat_seconds)
        return 0
    try:
        serve(factory_, threading.Event(), args.stale_seconds, args.heartbeat_seconds)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
