"""A scoring job's steps, so its progress is true while one long document is scored: a (model, document) is
one step per STEP_PAIRS of the document's ordered pairs (at least one), and the predictor reports the pairs
of each chunk it scores (engine.serve.predictor.PairProgress). A 540-entity text (290,700 pairs) is 30 steps
that advance during its minutes of scoring; a DocRED document (at most 42 entities, 1,722 pairs) stays one."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from engine.data.documents import Document

STEP_PAIRS = 10_000


def document_steps(doc: Document) -> int:
    """Steps of scoring one document with one model."""
    n = doc.num_entities
    return max(1, math.ceil(n * (n - 1) / STEP_PAIRS))


def job_steps(docs: Sequence[Document], n_models: int) -> int:
    """Steps of a whole job: every document with every model."""
    return n_models * sum(document_steps(d) for d in docs)


class ChunkProgress:
    """Turns the pairs scored so far in one predict call (a chunk of documents) into steps done, and calls
    `report(done)` when that number grows. The chunk's last step is left to the commit that stores its scores,
    so `done` never counts a step whose scores a killed worker would lose."""

    def __init__(self, docs: Sequence[Document], done_before: int, report: Callable[[int], None]) -> None:
        self.steps = sum(document_steps(d) for d in docs)
        self.pairs = max(1, sum(d.num_entities * (d.num_entities - 1) for d in docs))
        self.done_before, self.report = done_before, report
        self.scored = self.reported = 0

    def __call__(self, n_pairs: int) -> None:
        self.scored += n_pairs
        steps = min(self.steps - 1, self.scored * self.steps // self.pairs)
        if steps > self.reported:
            self.reported = steps
            self.report(self.done_before + steps)
