"""Fine-tuning a dataset's model on its reviewed labels, for the Evaluate page: queue the job (the one job
mechanism, run by the same worker as scoring), read its progress, and rescore the pending queue with the new
model in one click (an ordinary scoring job). Curators only in team mode, checked against the stored role."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db import store
from db.store.clock import utc_now
from db.store.domain import JobInfo
from db.workflows.finetune import FinetuneRefused, start_finetune

from . import jobs
from .resources import available_models, forget_models, predictor, session, user_models_dir
from .team import require_curator

DEFAULT_EPOCHS = 3  # engine.train.finetune.DEFAULT_EPOCHS: a short budget (imported there with torch)
MAX_EPOCHS = 20

__all__ = ["DEFAULT_EPOCHS", "FinetuneRefused", "MAX_EPOCHS", "Progress", "dataset_model", "fine_tune_jobs",
           "progress", "rescore_pending", "start"]


def dataset_model(dataset_id: int) -> str | None:
    """The checkpoint the dataset was scored with last (its "current" model) when it is still available, else
    the shipped default, else none."""
    from .resources import default_model_path  # noqa: PLC0415

    available = {m.path for m in available_models()}
    with session() as s:
        runs = store.list_runs(s, dataset_id)
    latest = next((r.checkpoint for r in sorted(runs, key=lambda r: r.id, reverse=True) if r.checkpoint in available),
                  None)
    return latest or default_model_path() or next(iter(sorted(available)), None)


def start(dataset_id: int, base: str, epochs: int, by: str) -> int:
    """Queue a fine-tune of `base` on the dataset's reviewed labels; returns the job id. FinetuneRefused (a
    dataset without labels, one already fine-tuning) and AccountError (not a curator) say why."""
    if not 1 <= epochs <= MAX_EPOCHS:
        raise FinetuneRefused(f"epochs must be between 1 and {MAX_EPOCHS}, got {epochs}")
    with session() as s:
        require_curator(s, by, "fine-tune a dataset's model")
        job_id = start_finetune(s, dataset_id, base, user_models_dir(), by, epochs)
    jobs.ensure_worker()
    return job_id


def fine_tune_jobs(dataset_id: int) -> list[JobInfo]:
    """The dataset's fine-tune jobs, newest first."""
    return [j for j in jobs.jobs(dataset_id) if j.kind == "finetune"]


@dataclass(frozen=True)
class Progress:
    """What the page shows of a fine-tune job: epoch and step of all, and time since it (re)started."""

    status: str
    epoch: int
    epochs: int
    step: int
    steps: int
    elapsed_seconds: float | None
    model: str | None
    lineage: dict | None

    @property
    def text(self) -> str:
        elapsed = "" if self.elapsed_seconds is None else f", {self.elapsed_seconds:.0f} s"
        return f"{self.status}: epoch {self.epoch}/{self.epochs}, step {self.step}/{self.steps}{elapsed}"


def progress(job: JobInfo, now: datetime | None = None) -> Progress:
    details = job.details or {}
    end = job.finished_at or now or utc_now()
    elapsed = (end - job.started_at).total_seconds() if job.started_at is not None else None
    return Progress(jobs.status_label(job), int(details.get("epoch", 0)), int(details.get("epochs", 0)), job.done,
                    job.total, elapsed, details.get("model"), details.get("lineage"))


def finished_model(job: JobInfo) -> str | None:
    """The new model's path once the job is done (and the catalogue re-read so pages list it)."""
    if job.status != "done" or not (job.details or {}).get("model_path"):
        return None
    forget_models()
    return str(job.details["model_path"])


def rescore_pending(dataset_id: int, model_path: str, by: str) -> int | None:
    """Score the documents that still have undecided suggestions with `model_path` (a scoring job: its run
    joins the others and the queue re-ranks); None when nothing is pending."""
    with session() as s:
        require_curator(s, by, "rescore the review queue")
        doc_ids = store.undecided_document_ids(s, dataset_id)
    if not doc_ids:
        return None
    predictor(model_path)  # a broken checkpoint is a ModelError here, and nothing is queued
    return jobs.enqueue(dataset_id, doc_ids, [model_path], by)
