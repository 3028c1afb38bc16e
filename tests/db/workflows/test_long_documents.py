"""Long documents in the scoring job (issue 25 point 5): the job scores a long document in the same pair chunks as
the CLI's predictor and stores exactly its scores (a NumPy archive, not a JSON list of every logit); its
progress moves while that one document is scored; scores stored before, as JSON, still read."""
from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

from db import store
from db.store.session import session_scope
from db.workflows import job_steps
from db.workflows.scoring import run_job
from tests.model_helpers import synthetic_document

N_ENTITIES = 40  # 1,560 ordered pairs: about ten pair chunks under a 1 MB budget with the tiny model


@pytest.fixture
def long_job(factory, tiny_models_dir, monkeypatch):
    """A dataset holding one long document, a claimed job scoring it with the tiny model, and pair chunks
    small enough that the document takes many (DOCRE_PAIR_MEMORY_MB, read by the CLI's predictor too)."""
    from db.workflows.worker import load_model

    monkeypatch.setenv("DOCRE_PAIR_MEMORY_MB", "1")
    load_model.cache_clear()  # a predictor an earlier test loaded holds the default pair budget
    doc = synthetic_document(N_ENTITIES, "a long text")
    with session_scope(factory) as s:
        dataset = store.create_dataset(s, "long")
        (doc_id,) = store.add_documents(s, dataset.id, [doc]).added
        store.enqueue_job(s, dataset.id, [doc_id], [str(tiny_models_dir / "tiny")], "ann")
        job = store.claim_next_job(s, "w1")
    yield job, doc, doc_id
    load_model.cache_clear()  # nor may a later test get this one's 1 MB budget


def test_the_job_stores_exactly_the_scores_the_cli_predictor_gives(factory, long_job) -> None:
    from db.workflows.worker import load_model
    from engine.serve.predictor import Predictor

    job, doc, doc_id = long_job
    chunks: list[int] = []
    cli = Predictor.from_checkpoint(job.checkpoints[0])  # what `python -m engine predict` loads and calls
    (expected,) = cli.predict([doc], pair_progress=chunks.append)
    assert len(chunks) >= 5 and sum(chunks) == N_ENTITIES * (N_ENTITIES - 1)  # scored in many pair chunks
    run_job(factory, job, "w1", load_model)
    with session_scope(factory) as s:
        (run,) = store.list_runs(s, job.dataset_id)
        stored = store.load_pair_scores(s, run.id, doc_id)
    assert np.array_equal(stored.heads, expected.heads) and np.array_equal(stored.tails, expected.tails)
    assert np.array_equal(stored.logits, expected.logits)  # exact: JSON kept 4 decimals of each
    assert np.array_equal(stored.probabilities, expected.probabilities)
    assert np.array_equal(stored.decoded, expected.decoded)
    assert stored.calibration == expected.calibration and stored.relation_ids == expected.relation_ids


def test_progress_moves_while_one_long_document_is_scored(factory, long_job, monkeypatch) -> None:
    from db.workflows.worker import load_model

    monkeypatch.setattr(job_steps, "STEP_PAIRS", 400)  # 1,560 pairs: 4 steps, fewer than the pair chunks
    job, _, _ = long_job
    seen_in_store: list[int] = []

    class Watched:
        """The model, reading the job's row from the store after each pair chunk, as a polling page does."""

        def __init__(self, model) -> None:
            self.model = model

        def __getattr__(self, name: str):
            return getattr(self.model, name)

        def predict(self, docs, progress=None, pair_progress=None):
            def watched(n: int) -> None:
                pair_progress(n)
                with session_scope(factory) as s:
                    seen_in_store.append(store.get_job(s, job.id).done)
            return self.model.predict(docs, pair_progress=watched)

    reported: list[tuple[int, int]] = []
    run_job(factory, job, "w1", lambda p: Watched(load_model(p)), on_progress=lambda d, t: reported.append((d, t)))
    with session_scope(factory) as s:
        final = store.get_job(s, job.id)
    assert (final.status, final.done, final.total) == ("done", 4, 4)
    assert {t for _, t in reported} == {4}
    during = sorted(set(seen_in_store))  # what a page saw while the document's pairs were still being scored
    assert during == [0, 1, 2, 3] and seen_in_store == sorted(seen_in_store)  # every step but the commit's, in order
    assert [d for d, _ in reported] == sorted(d for d, _ in reported) and reported[-1] == (4, 4)


def test_scores_stored_as_json_before_still_load(factory) -> None:
    from db.store import models as m
    from engine.data.pair_scores import PairScores
    from tests.db_support import tiny_document

    heads, tails = np.array([0, 1, 2]), np.array([1, 2, 0])
    logits = np.array([[0.5, 1.25, -2.0], [1.0, 0.0, 0.5], [0.0, -1.5, 3.0]], dtype=np.float32)
    scores = PairScores("Ann Lee", "atlop.v1", ("P17", "P27"), heads, tails, logits, logits / 4,
                        logits[:, 1:] > logits[:, :1])
    legacy = zlib.compress(json.dumps(scores.to_json(), separators=(",", ":")).encode("utf-8"), 6)
    with session_scope(factory) as s:
        dataset = store.create_dataset(s, "old")
        (doc_id,) = store.add_documents(s, dataset.id, [tiny_document()]).added
        run_id = store.record_run(s, dataset.id, checkpoint="m", method="atlop.v1", version="1", seconds=0)
        s.add(m.PairScoreBlobRow(run_id=run_id, document_id=doc_id, n_pairs=3, payload=legacy))
    with session_scope(factory) as s:
        back = store.load_pair_scores(s, run_id, doc_id)
    assert np.array_equal(back.logits, logits) and np.array_equal(back.decoded, scores.decoded)
    assert (back.title, back.relation_ids) == ("Ann Lee", ("P17", "P27"))
