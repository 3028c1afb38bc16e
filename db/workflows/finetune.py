"""Fine-tuning from reviewed labels as a job of the one job mechanism (db.store.queries.jobs, kind "finetune"):
`start_finetune` checks the dataset has labels and queues the job; `run_finetune_job` (what the worker runs for
it) trains the base checkpoint on the dataset's exported labels (gold + accepted - rejected, the Export page's
documents) with engine.train.finetune, reports steps and the epoch in progress on the job's row, and moves the
new checkpoint, with its lineage, into the user models directory the app lists. A killed worker's job resumes
from the run's last finished epoch (engine.train.run_directory `last/`), on the same snapshot of the labels.
No Streamlit here; torch only once a job runs."""
from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from engine.config import TrainConfig
from engine.errors import DocreError

from .. import store
from ..store.domain import JobInfo
from ..store.queries.jobs import HEARTBEAT_SECONDS
from ..store.session import session_scope
from .job_heartbeat import run_beating

log = logging.getLogger(__name__)
TRAINING_DIR = ".training"  # under the user models directory: runs in progress (no config.json: never listed)
SNAPSHOT_FILE = "snapshot.json"  # the labels a job trains on, taken when it first runs
CONFIG_FILE = "config.json"  # engine.model.checkpoint.CONFIG_FILE, named here so the page imports no torch


class FinetuneRefused(DocreError):
    """A fine-tune that cannot start (no labels, one already queued); the message names the dataset."""


def model_name(base: str, dataset: str, job_id: int) -> str:
    """The new model's directory name: base, dataset and job, in characters safe for any file system."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset).strip("-.")[:40] or "dataset"
    return f"{Path(base).name}-ft-{slug}-job{job_id}"


def _train_config(base: str, epochs: int) -> TrainConfig:
    from engine.train.finetune import base_train_config  # noqa: PLC0415 - torch only when fine-tuning

    return base_train_config(base, epochs=epochs)


def start_finetune(session: Session, dataset_id: int, base: str, models_dir: str | Path, requested_by: str,
                   epochs: int) -> int:
    """Queue a fine-tune of checkpoint `base` on the dataset's labelled documents for `epochs`, writing the new
    model under `models_dir`. Refuses (FinetuneRefused, naming the dataset) a dataset with no labels and one
    with a fine-tune already queued or running. Returns the job id."""
    from engine.train.finetune import labelled, steps_per_epoch  # noqa: PLC0415

    dataset = store.get_dataset(session, dataset_id)
    busy = [j.id for j in store.list_jobs(session, dataset_id)
            if j.kind == "finetune" and j.status in ("queued", "running")]
    if busy:
        raise FinetuneRefused(f"dataset {dataset.name!r} is already being fine-tuned (job {busy[0]}); wait for it to "
                              "finish")
    ids = store.document_ids(session, dataset_id)
    docs = store.reviewed_documents(session, ids)
    try:
        kept = labelled(docs, f"dataset {dataset.name!r}")
    except DocreError as err:
        raise FinetuneRefused(str(err)) from None
    kept_ids = [i for i, d in zip(ids, docs) if d.has_labels]
    config = _train_config(base, epochs)
    per_epoch = steps_per_epoch(len(kept), config)
    return store.enqueue_finetune_job(session, dataset_id, kept_ids, base, requested_by, per_epoch * epochs, {
        "epochs": epochs, "steps_per_epoch": per_epoch, "models_dir": str(models_dir), "epoch": 0})


def _snapshot(factory_: sessionmaker[Session], job: JobInfo, path: Path, device: str | None) -> dict[str, Any]:
    """The labels to train on, taken once (a resumed job must see the data its `last/` was trained on, even if
    reviews went on meanwhile): the dataset's name, its decisions so far and the reviewed documents, with the
    base model's own predictions the review did not reject added as labels (engine.train.finetune.
    keep_predictions: without them a partly reviewed dataset teaches the model to predict fewer relations)."""
    from engine.data.documents import document_to_json  # noqa: PLC0415
    from engine.serve.predictor import Predictor  # noqa: PLC0415
    from engine.settings import pick_device  # noqa: PLC0415
    from engine.train.finetune import keep_predictions  # noqa: PLC0415

    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    ids = list(job.document_ids)
    with session_scope(factory_) as s:
        dataset = store.get_dataset(s, job.dataset_id)
        decisions = store.decision_count(s, job.dataset_id)
        docs, rejected = store.reviewed_documents(s, ids), store.rejected_triples(s, ids)
    scores = Predictor.from_checkpoint(job.checkpoints[0], pick_device(device)).predict(docs)
    docs, kept = keep_predictions(docs, [[(h, t, r) for h, t, r, _ in ps.predicted_triples()] for ps in scores],
                                  [rejected.get(i, set()) for i in ids])
    snapshot = {"dataset": dataset.name, "dataset_id": dataset.id, "decisions": decisions, "kept_predictions": kept,
                "documents": [document_to_json(d) for d in docs]}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(snapshot, ensure_ascii=False), encoding="utf-8")
    partial.replace(path)
    return snapshot


def _trained(run: Path) -> bool:
    """The run finished (its config.json carries the lineage finetune writes last), e.g. before a kill."""
    from engine.model.checkpoint import read_checkpoint_config  # noqa: PLC0415

    return (run / CONFIG_FILE).is_file() and not (run / "last").exists() and "lineage" in read_checkpoint_config(run)


def _finetune(factory_: sessionmaker[Session], job: JobInfo, worker_id: str, device: str | None) -> str:
    from engine.data.documents import parse_documents  # noqa: PLC0415
    from engine.model.checkpoint import read_checkpoint_config  # noqa: PLC0415
    from engine.settings import pick_device  # noqa: PLC0415
    from engine.train.finetune import finetune  # noqa: PLC0415

    from .finetune_progress import JobProgress  # noqa: PLC0415

    details = job.details or {}
    base = job.checkpoints[0]
    root = Path(details["models_dir"])
    work = root / TRAINING_DIR / f"job-{job.id}"
    snapshot = _snapshot(factory_, job, work / SNAPSHOT_FILE, device)
    name = model_name(base, snapshot["dataset"], job.id)
    target = root / name
    if not (target / CONFIG_FILE).is_file():  # else a worker killed after the move: only the row is left to write
        run = work / "run"
        if not _trained(run):
            docs = list(parse_documents(snapshot["documents"], file=str(work / SNAPSHOT_FILE)).documents)
            lineage = {"dataset": snapshot["dataset"], "dataset_id": snapshot["dataset_id"],
                       "decisions": snapshot["decisions"], "kept_predictions": snapshot.get("kept_predictions", 0),
                       "job_id": job.id, "requested_by": job.requested_by}
            finetune(base, docs, run, _train_config(base, int(details["epochs"])), device=pick_device(device),
                     callbacks=[JobProgress(factory_, job, worker_id)], lineage=lineage,
                     source=f"dataset {snapshot['dataset']!r}")
        run.rename(target)
    shutil.rmtree(work, ignore_errors=True)
    lineage = read_checkpoint_config(target)["lineage"]
    with session_scope(factory_) as s:
        store.finish_job(s, job.id, worker_id, details={"model": name, "model_path": str(target.resolve()),
                                                          "lineage": lineage})
    log.info("fine-tune job %s: new model %s", job.id, target)
    return str(target)


def run_finetune_job(factory_: sessionmaker[Session], job: JobInfo, worker_id: str,
                     heartbeat_seconds: float = HEARTBEAT_SECONDS, device: str | None = None) -> str | None:
    """Fine-tune to the end and mark the job done (returns the new model's path), or mark it failed with a
    message for users (returns None). Its heartbeat beats on its own thread all the while."""
    return run_beating(factory_, job, worker_id, heartbeat_seconds, lambda: _finetune(factory_, job, worker_id, device),
                       kind="fine-tune", user_error="fine-tuning stopped, no new model was made:")
