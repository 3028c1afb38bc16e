"""Fine-tuning from reviewed labels as a job (db.workflows.finetune): a dataset without labels is refused by name;
the job trains on gold + accepted - rejected, reports steps and epochs, and leaves a new model with its lineage
in the user models directory; a worker killed after an epoch leaves the job to a new worker, which resumes from
that epoch and ends with the same weights as a run never stopped."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file

from db import store
from db.store.session import session_scope
from db.workflows import finetune as finetune_workflow
from db.workflows.finetune import TRAINING_DIR, FinetuneRefused, start_finetune
from db.workflows.finetune_progress import JobProgress
from db.workflows.worker import drain
from engine.model.checkpoint import read_checkpoint_config
from engine.serve.predictor import Predictor
from engine.train import trainer as trainer_module
from tests.db_support import Killed
from tests.model_helpers import small_docs

EPOCHS = 2


def _dataset(factory, docs, name: str = "reviewed") -> tuple[int, list[int]]:
    with session_scope(factory) as s:
        dataset = store.create_dataset(s, name)
        return dataset.id, list(store.add_documents(s, dataset.id, docs).added)


def _decide(factory, dataset_id: int, doc_id: int, h: int, t: int, relation: str, decision: str) -> None:
    """One suggestion on (h, t, relation) and a local annotator's decision on it."""
    with session_scope(factory) as s:
        run_id = store.record_run(s, dataset_id, checkpoint="m", method="atlop.v1", version="0.1.0", seconds=1.0)
        (sid,) = store.add_suggestions(s, dataset_id, [{"doc_id": doc_id, "h_idx": h, "t_idx": t,
                                                        "relation": relation, "score": 0.9}], run_ids=[run_id])
        store.ensure_annotator(s, "ann")
        store.record_review(s, sid, "ann", decision)


def _job(factory, job_id: int):
    with session_scope(factory) as s:
        return store.get_job(s, job_id)


@pytest.fixture
def docs(redocred_docs):
    return small_docs(redocred_docs, 2)


def test_a_dataset_without_labels_is_refused_with_its_name(factory, docs, tiny_models_dir, tmp_path) -> None:
    from dataclasses import replace

    dataset_id, _ = _dataset(factory, [replace(d, facts=None) for d in docs], name="raw texts")
    with session_scope(factory) as s, pytest.raises(FinetuneRefused,
                                                    match=r"dataset 'raw texts' has no labels to fine-tune on"):
        start_finetune(s, dataset_id, str(tiny_models_dir / "tiny"), tmp_path, "ann", EPOCHS)
    with session_scope(factory) as s:
        assert store.list_jobs(s, dataset_id) == []  # nothing queued


def test_the_job_trains_on_reviewed_labels_and_leaves_a_model_with_its_lineage(factory, docs, tiny_models_dir,
                                                                              tmp_path) -> None:
    dataset_id, ids = _dataset(factory, docs)
    gold = docs[0].facts[0]
    _decide(factory, dataset_id, ids[0], gold.h, gold.t, gold.r, "reject")  # removes a gold label
    missing = next((h, t) for h in range(len(docs[0].entities)) for t in range(len(docs[0].entities))
                   if h != t and not any((f.h, f.t) == (h, t) for f in docs[0].facts))
    _decide(factory, dataset_id, ids[0], *missing, "P17", "accept")  # adds one
    with session_scope(factory) as s:
        job_id = start_finetune(s, dataset_id, str(tiny_models_dir / "tiny"), tmp_path, "ann", EPOCHS)
        with pytest.raises(FinetuneRefused, match=f"'reviewed' is already being fine-tuned \\(job {job_id}\\)"):
            start_finetune(s, dataset_id, str(tiny_models_dir / "tiny"), tmp_path, "ann", EPOCHS)
    queued = _job(factory, job_id)
    assert (queued.kind, queued.total, queued.details["epochs"]) == ("finetune", EPOCHS * 1, EPOCHS)  # batch 4
    seen = []
    real = JobProgress.on_save
    JobProgress.on_save = lambda self, c, state, control: (seen.append(_job(factory, job_id).details["epoch"]),
                                                           real(self, c, state, control))
    try:
        assert drain(factory, "w1") == 1
    finally:
        JobProgress.on_save = real
    job = _job(factory, job_id)
    assert (job.status, job.done, job.total, job.error) == ("done", EPOCHS, EPOCHS, None)
    assert seen == [1, 2]  # the epoch in progress was on the row before each save
    name = f"tiny-ft-reviewed-job{job_id}"
    assert job.details["model"] == name
    saved = read_checkpoint_config(tmp_path / name)
    lineage = saved["lineage"]
    assert {k: lineage[k] for k in ("base_model", "dataset", "dataset_id", "decisions", "documents", "job_id")} == \
        {"base_model": "tiny", "dataset": "reviewed", "dataset_id": dataset_id, "decisions": 2, "documents": 2,
         "job_id": job_id}
    # the base model's own predictions join the labels, less what review rejected and what is labelled already
    with session_scope(factory) as s:
        reviewed = store.reviewed_documents(s, ids)
    scores = Predictor.from_checkpoint(tiny_models_dir / "tiny", "cpu").predict(reviewed)
    rejected = [{(gold.h, gold.t, gold.r)}, set()]  # rejected in the first document only
    new = [{(h, t, r) for h, t, r, _ in ps.predicted_triples()} - {(f.h, f.t, f.r) for f in d.facts} - refused
           for d, ps, refused in zip(reviewed, scores, rejected)]
    assert lineage["kept_predictions"] == sum(len(n) for n in new)
    assert lineage["labels"] == sum(len(d.facts) for d in docs) + lineage["kept_predictions"]  # -1 rejected, +1
    assert job.details["lineage"] == lineage
    assert not (tmp_path / TRAINING_DIR / f"job-{job_id}").exists()


def _run(factory, docs, model, root: Path, kill_after_epoch: int | None) -> Path:
    dataset_id, _ = _dataset(factory, docs, name=f"d{kill_after_epoch}")
    with session_scope(factory) as s:
        job_id = start_finetune(s, dataset_id, str(model), root, "ann", EPOCHS)
    if kill_after_epoch is not None:
        real = JobProgress.on_save

        def dies(self, config, state, control) -> None:
            real(self, config, state, control)
            if state.epoch == kill_after_epoch:
                raise Killed  # the process dies after the epoch's resume state was saved

        JobProgress.on_save = dies
        try:
            with pytest.raises(Killed):
                drain(factory, "doomed")
        finally:
            JobProgress.on_save = real
        job = _job(factory, job_id)
        assert (job.status, job.worker_id, job.done, job.details["epoch"]) == ("running", "doomed", 1, 1)
        assert (root / TRAINING_DIR / f"job-{job_id}" / "run" / "last").is_dir()
        with session_scope(factory) as s:
            (recovered,) = store.recover_stale_jobs(s, stale_seconds=0)
        assert recovered.status == "queued"
    started = []
    real_train = trainer_module.Trainer.train

    def spy(self):
        started.append(self.state.epoch)
        return real_train(self)

    trainer_module.Trainer.train = spy
    try:
        assert drain(factory, "rescuer") == 1
    finally:
        trainer_module.Trainer.train = real_train
    job = _job(factory, job_id)
    assert (job.status, job.done, job.total, job.worker_id) == ("done", EPOCHS, EPOCHS, "rescuer")
    assert started == [kill_after_epoch or 0]  # the new worker went on from the saved epoch
    return root / job.details["model"]


def test_a_killed_job_resumes_from_its_last_epoch_with_a_new_worker(factory, docs, tiny_models_dir, tmp_path) -> None:
    model = tmp_path / "base"
    shutil.copytree(tiny_models_dir / "tiny", model)
    resumed = _run(factory, docs, model, tmp_path / "a", kill_after_epoch=1)
    straight = _run(factory, docs, model, tmp_path / "b", kill_after_epoch=None)
    assert read_checkpoint_config(resumed)["lineage"]["epochs"] == EPOCHS
    a, b = load_file(str(resumed / "model.safetensors")), load_file(str(straight / "model.safetensors"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)  # as if it was never stopped


def test_a_job_finishes_when_its_worker_died_after_training(factory, docs, tiny_models_dir, tmp_path,
                                                            monkeypatch) -> None:
    """Killed between the move of the new model and the job's last write: the next worker only records it."""
    dataset_id, _ = _dataset(factory, docs)
    with session_scope(factory) as s:
        job_id = start_finetune(s, dataset_id, str(tiny_models_dir / "tiny"), tmp_path, "ann", 1)

    def dies(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(store, "finish_job", dies)
    with pytest.raises(Killed):
        drain(factory, "doomed")
    monkeypatch.undo()
    with session_scope(factory) as s:
        store.recover_stale_jobs(s, stale_seconds=0)
    calls = []
    monkeypatch.setattr(finetune_workflow, "_trained", lambda run: calls.append(run) or False)
    assert drain(factory, "rescuer") == 1
    assert calls == []  # nothing trained again: the model was already in place
    assert _job(factory, job_id).status == "done"


def test_the_cli_recipe_exports_a_reviewed_dataset_and_fine_tunes_on_it(db_url, factory, docs, tiny_models_dir,
                                                                        tmp_path) -> None:
    """`python -m db export` then `python -m engine train --init-from MODEL --train exported.json`."""
    import json  # noqa: PLC0415

    from db.__main__ import main as db_main  # noqa: PLC0415
    from engine.cli.main import main as engine_main  # noqa: PLC0415

    dataset_id, ids = _dataset(factory, docs, name="cli")
    missing = next((h, t) for h in range(len(docs[1].entities)) for t in range(len(docs[1].entities))
                   if h != t and not any((f.h, f.t) == (h, t) for f in docs[1].facts))
    _decide(factory, dataset_id, ids[1], *missing, "P131", "accept")
    exported = tmp_path / "exported.json"
    assert db_main(["--url", db_url, "export", "--dataset", "cli", "--output", str(exported)]) == 0
    labels = [label for obj in json.loads(exported.read_text(encoding="utf-8")) for label in obj["labels"]]
    assert sum(label.get("provenance", {}).get("origin") == "review" for label in labels) == 1
    out = tmp_path / "models" / "tuned"
    assert engine_main(["--quiet", "train", "--init-from", str(tiny_models_dir / "tiny"), "--train", str(exported),
                        "--epochs", "1", "--output", str(out)]) == 0
    lineage = read_checkpoint_config(out)["lineage"]
    assert (lineage["base_model"], lineage["train"], lineage["labels"]) == ("tiny", str(exported), len(labels))
