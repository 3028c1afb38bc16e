"""A scoring worker process whose model is slow (each predict call sleeps first), so a test can kill it with
SIGKILL mid-job: `python -m tests.job_worker_support SECONDS -- <python -m app.worker arguments>`."""
from __future__ import annotations

import sys
import time
from typing import Any


class SlowModel:
    """A Predictor that sleeps before each predict call (a long chunk on a slow machine)."""

    def __init__(self, model: Any, delay: float) -> None:
        self.model, self.delay = model, delay

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def predict(self, docs: Any, progress: Any = None, pair_progress: Any = None) -> Any:
        time.sleep(self.delay)
        return self.model.predict(docs, pair_progress=pair_progress)


def main(argv: list[str]) -> int:
    from app import worker  # noqa: PLC0415
    from engine.serve.predictor import Predictor  # noqa: PLC0415

    delay, rest = float(argv[0]), argv[argv.index("--") + 1:]
    real = Predictor.from_checkpoint  # what the worker's loader (db.workflows.worker.load_model) calls
    Predictor.from_checkpoint = staticmethod(lambda path, *args, **kwargs: SlowModel(real(path, *args, **kwargs),
                                                                                     delay))
    return worker.main(rest)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
