"""Scoring jobs in the store: enqueue, atomic claim, progress, fail, stale re-queue; a job interrupted mid-way
resumes and ends done with no duplicate scores; two users' jobs both finish. SQLite, and PostgreSQL when set."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from db import store
from db.store import models as m
from db.store.clock import utc_now
from db.store.queries.jobs import JobLostError
from db.store.session import session_scope
from db.workflows.scoring import run_job
from tests.db_support import DiesAfter, Killed, tiny_document


def dataset_with_docs(factory, n: int = 3) -> tuple[int, list[int]]:
    with session_scope(factory) as s:
        dataset = store.create_dataset(s, "jobs")
        added = store.add_documents(s, dataset.id, [tiny_document(f"Doc {i}") for i in range(n)]).added
    return dataset.id, list(added)


def test_enqueue_claim_progress_finish_and_fail(factory) -> None:
    dataset_id, docs = dataset_with_docs(factory)
    with session_scope(factory) as s:
        first = store.enqueue_job(s, dataset_id, docs, ["m1", "m2"], "ann")
        second = store.enqueue_job(s, dataset_id, docs[:1], ["m1"], "bob")
        with pytest.raises(ValueError, match="needs documents and models"):
            store.enqueue_job(s, dataset_id, [], ["m1"], "ann")
    with session_scope(factory) as s:
        job = store.claim_next_job(s, "w1")
        assert (job.id, job.status, job.worker_id, job.total) == (first, "running", "w1", 6)
        store.report_progress(s, first, "w1", done=2)
        with pytest.raises(JobLostError, match=f"scoring job {first} is no longer this worker's"):
            store.report_progress(s, first, "w2", done=3)
    with session_scope(factory) as s:
        assert store.get_job(s, first).done == 2
        store.finish_job(s, first, "w1")
        assert store.claim_next_job(s, "w1").id == second
        store.fail_job(s, second, "model missing")
        assert store.claim_next_job(s, "w1") is None
        jobs = store.list_jobs(s, dataset_id)
    assert [(j.id, j.status, j.fraction, j.error) for j in jobs] == [
        (second, "failed", 0.0, "model missing"), (first, "done", 1.0, None)]


def test_two_workers_never_claim_one_job(factory) -> None:
    dataset_id, docs = dataset_with_docs(factory, 1)
    with session_scope(factory) as s:
        ids = {store.enqueue_job(s, dataset_id, docs, ["m"], f"user{i}") for i in range(6)}
    claimed: dict[str, list[int]] = {"a": [], "b": []}

    def work(name: str) -> None:
        while True:
            with session_scope(factory) as s:
                job = store.claim_next_job(s, name)
            if job is None:
                return
            claimed[name].append(job.id)

    threads = [threading.Thread(target=work, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed["a"] + claimed["b"]) == sorted(ids)


def test_stale_running_jobs_are_requeued_or_failed_by_name(factory) -> None:
    dataset_id, docs = dataset_with_docs(factory, 1)
    with session_scope(factory) as s:
        live, stale, orphan = (store.enqueue_job(s, dataset_id, docs, ["m"], "ann") for _ in range(3))
        run_id = store.record_run(s, dataset_id, checkpoint="m", method="x", version="1", seconds=0)
    for _ in range(3):
        with session_scope(factory) as s:
            store.claim_next_job(s, "dead")
    with session_scope(factory) as s:
        store.report_progress(s, orphan, "dead", run_ids=[run_id + 100])
        old = utc_now() - timedelta(seconds=120)
        s.execute(update(m.ScoringJobRow).where(m.ScoringJobRow.id.in_([stale, orphan])).values(heartbeat_at=old))
    with session_scope(factory) as s:
        recovered = {j.id: j for j in store.recover_stale_jobs(s, stale_seconds=60)}
    assert set(recovered) == {stale, orphan}
    assert recovered[stale].status == "queued" and recovered[stale].worker_id is None
    assert recovered[orphan].status == "failed"
    assert f"scoring job {orphan} cannot resume" in recovered[orphan].error
    with session_scope(factory) as s:
        assert store.get_job(s, live).status == "running"


def test_interrupted_job_resumes_and_ends_done_without_duplicates(factory, tiny_models_dir,
                                                                 monkeypatch) -> None:
    from db.workflows import scoring as job_runner
    from db.workflows.worker import load_model

    monkeypatch.setattr(job_runner, "CHUNK_DOCS", 2)  # 3 documents: a chunk of 2 and one of 1 per model

    dataset_id, docs = dataset_with_docs(factory, 3)
    paths = [str(tiny_models_dir / "tiny"), str(tiny_models_dir / "tiny2")]
    with session_scope(factory) as s:
        job_id = store.enqueue_job(s, dataset_id, docs, paths, "ann")
        job = store.claim_next_job(s, "w1")
    with pytest.raises(Killed):
        run_job(factory, job, "w1", lambda p, budget=[3]: DiesAfter(load_model(p), budget))
    with session_scope(factory) as s:  # the first model's 3 documents and a chunk of 2 of the second's
        assert store.get_job(s, job_id).done == 5 and store.get_job(s, job_id).status == "running"
        s.execute(update(m.ScoringJobRow).values(heartbeat_at=utc_now() - timedelta(seconds=300)))
    with session_scope(factory) as s:
        store.recover_stale_jobs(s)
        job = store.claim_next_job(s, "w2")
    predicted: list[int] = []

    class Counting(DiesAfter):
        def predict(self, docs, progress=None, pair_progress=None):
            predicted.append(len(docs))
            return self.model.predict(docs, pair_progress=pair_progress)

    run_job(factory, job, "w2", lambda p: Counting(load_model(p), [0]))
    with session_scope(factory) as s:
        final = store.get_job(s, job_id)
        blobs = s.scalar(select(func.count()).select_from(m.PairScoreBlobRow))
        runs = store.list_runs(s, dataset_id)
    assert (final.status, final.done, final.total, final.error) == ("done", 6, 6, None)
    assert predicted == [1]  # only the document the dead worker had not stored
    assert blobs == 6 and len(runs) == 2 and sorted(final.run_ids) == sorted(r.id for r in runs)


def test_two_users_jobs_both_finish(factory, tiny_models_dir) -> None:  # noqa: F811
    from db.workflows.worker import drain

    dataset_id, docs = dataset_with_docs(factory, 2)
    with session_scope(factory) as s:
        a = store.enqueue_job(s, dataset_id, docs, [str(tiny_models_dir / "tiny")], "ann")
        b = store.enqueue_job(s, dataset_id, docs[:1], [str(tiny_models_dir / "tiny2")], "bob")
    assert drain(factory, "w") == 2
    with session_scope(factory) as s:
        assert {j.id: (j.status, j.requested_by) for j in store.list_jobs(s)} == {a: ("done", "ann"),
                                                                                  b: ("done", "bob")}


def test_runs_of_a_job_not_done_are_left_out_of_finished_runs(factory) -> None:
    dataset_id, docs = dataset_with_docs(factory, 2)
    with session_scope(factory) as s:
        plain = store.record_run(s, dataset_id, checkpoint="cli", method="atlop.v1", version="0", seconds=0.0)
        job_id = store.enqueue_job(s, dataset_id, docs, ["m/a"], "ann")
        store.claim_job(s, job_id, "w1")
        partial = store.record_run(s, dataset_id, checkpoint="m/a", method="atlop.v1", version="0", seconds=0.0)
        store.report_progress(s, job_id, "w1", done=1, run_ids=[partial])
    with session_scope(factory) as s:
        assert store.unfinished_run_ids(s, dataset_id) == {partial}
        assert [r.id for r in store.list_runs(s, dataset_id, finished_only=True)] == [plain]  # no job: finished
        assert {r.id for r in store.list_runs(s, dataset_id)} == {plain, partial}
        store.fail_job(s, job_id, "stopped")
    with session_scope(factory) as s:
        assert [r.id for r in store.list_runs(s, dataset_id, finished_only=True)] == [plain]  # failed: still partial
        s.execute(update(m.ScoringJobRow).values(status="done"))
    with session_scope(factory) as s:
        assert {r.id for r in store.list_runs(s, dataset_id, finished_only=True)} == {plain, partial}
