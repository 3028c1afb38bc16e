"""One scoring run per model and dataset: a second upload batch, or rescoring, adds to the model's run instead of
making another, so Evaluate lists each model once; a database with several runs of one model (made before)
stays readable and the newest of them is added to."""
from __future__ import annotations

from db import store
from db.store.session import session_scope
from db.workflows.worker import drain
from engine.version import ENGINE_VERSION
from tests.db_support import tiny_document


def _dataset(factory, n: int) -> tuple[int, list[int]]:
    with session_scope(factory) as s:
        dataset = store.create_dataset(s, "runs")
        return dataset.id, list(store.add_documents(s, dataset.id, [tiny_document(f"Doc {i}") for i in range(n)]).added)


def _score(factory, dataset_id: int, docs: list[int], paths: list[str]) -> None:
    with session_scope(factory) as s:
        store.enqueue_job(s, dataset_id, docs, paths, "ann")
    assert drain(factory, "w") == 1


def test_upload_batches_and_rescoring_add_to_the_models_run(factory, tiny_models_dir) -> None:
    dataset_id, docs = _dataset(factory, 3)
    tiny, tiny2 = str(tiny_models_dir / "tiny"), str(tiny_models_dir / "tiny2")
    _score(factory, dataset_id, docs[:2], [tiny, tiny2])  # the first upload batch, two models
    _score(factory, dataset_id, docs[2:], [tiny, tiny2])  # the second batch
    _score(factory, dataset_id, docs[:1], [tiny])  # rescoring one document with one model
    with session_scope(factory) as s:
        runs = store.list_runs(s, dataset_id, finished_only=True)
        jobs = store.list_jobs(s)
    assert sorted(r.checkpoint for r in runs) == [tiny, tiny2]
    assert [r.n_scored for r in runs] == [3, 3]
    assert all(set(j.run_ids) <= {r.id for r in runs} for j in jobs) and len(jobs) == 3  # every job added to them


def test_a_database_with_several_runs_of_one_model_stays_readable(factory, tiny_models_dir) -> None:
    dataset_id, docs = _dataset(factory, 2)
    tiny = str(tiny_models_dir / "tiny")
    _score(factory, dataset_id, docs[:1], [tiny])
    with session_scope(factory) as s:  # as scoring did before: each batch its own run of the same model
        (first,) = store.list_runs(s, dataset_id)
        older = store.record_run(s, dataset_id, checkpoint=tiny, method=first.method, version=ENGINE_VERSION,
                                 seconds=1.0)
        store.save_pair_scores(s, older, docs[0], store.load_pair_scores(s, first.id, docs[0]))
        job_id = store.enqueue_job(s, dataset_id, docs[1:], [tiny], "ann")
        store.claim_job(s, job_id, "w1")
        store.report_progress(s, job_id, "w1", run_ids=[older])
        # a job not done that adds to a run holding other documents leaves that run shown
        assert store.unfinished_run_ids(s, dataset_id) == set()
        store.fail_job(s, job_id, "stopped")
    _score(factory, dataset_id, docs[1:], [tiny])
    with session_scope(factory) as s:
        runs = store.list_runs(s, dataset_id, finished_only=True)
        assert [(r.id, r.n_scored) for r in runs] == [(older, 2), (first.id, 1)]  # the newest took the batch
        assert store.load_pair_scores(s, older, docs[1]).heads is not None
        page = store.list_suggestions(s, dataset_id)
    assert all(src.run_id in {older, first.id} for item in page.items for src in item.sources)
