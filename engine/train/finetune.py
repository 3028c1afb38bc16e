"""Fine-tuning: continue training a checkpoint as it is (its method, options, encoder and schema) on labelled
documents, with the one training loop and its per-epoch resume state, so a stopped run resumes from its last
epoch. Shared by `python -m engine train --init-from CHECKPOINT` (without --method) and the app's fine-tune job
(db.workflows.finetune). Unlike a warm start, nothing is rebuilt from defaults: every weight carries on."""
from __future__ import annotations

import logging
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.config import TrainConfig
from engine.data.documents import Document, Fact
from engine.errors import InputFileError
from engine.model.checkpoint import load_checkpoint, read_checkpoint_config, update_checkpoint_config
from engine.train.callbacks import TrainerCallback
from engine.train.run_directory import RunDirectory
from engine.train.state import TrainState
from engine.train.trainer import Evaluator, Trainer, data_hash, seed_everything

log = logging.getLogger(__name__)
DEFAULT_EPOCHS = 3  # a short budget: a few passes over a reviewed dataset, not a new training run
KEPT_SETTINGS = ("batch_size", "grad_accumulation", "lr_encoder", "lr_classifier", "weight_decay", "warmup_ratio",
                 "max_grad_norm", "seed")
INHERITED = "inherited from the base model (no dev documents to refit it on)"


def labelled(documents: Sequence[Document], source: str) -> list[Document]:
    """The documents that carry labels; none (or not one label among them) is an InputFileError naming
    `source`, since training on no positive triple only teaches the model to predict nothing."""
    kept = [d for d in documents if d.has_labels]
    if not kept or not any(d.facts for d in kept):
        raise InputFileError(f"{source} has no labels to fine-tune on: {len(kept)} of {len(documents)} document(s) "
                             "carry labels and they hold no triple; add gold labels or accept suggestions in review "
                             "first")
    return kept


def keep_predictions(documents: Sequence[Document], predicted: Sequence[Iterable[tuple[int, int, str]]],
                     rejected: Sequence[Collection[tuple[int, int, str]]]) -> tuple[list[Document], int]:
    """The documents with the base model's own predicted (head, tail, relation) triples added as labels, less
    those review rejected and those labelled already; and how many were added. Why: every pair without a label
    trains as "no relation", so fine-tuning on a dataset whose labels still miss most triples taught the model to
    predict fewer (bench/finetune_gain.py on Revisit: held-out F1 56 -> 41-44; with its predictions kept, within
    0.1-1.2 of 56)."""
    out, added = [], 0
    for doc, triples, refused in zip(documents, predicted, rejected, strict=True):
        have = {(f.h, f.t, f.r) for f in doc.facts or ()} | set(refused)
        new = tuple(Fact(h, t, r) for h, t, r in dict.fromkeys((int(h), int(t), r) for h, t, r in triples)
                    if (h, t, r) not in have)
        added += len(new)
        out.append(replace(doc, facts=(*(doc.facts or ()), *new)) if new else doc)
    return out, added


def steps_per_epoch(n_documents: int, config: TrainConfig) -> int:
    """Optimiser steps of one epoch, as the trainer counts them (batches, then accumulation groups)."""
    return math.ceil(math.ceil(n_documents / config.batch_size) / config.grad_accumulation)


def base_train_config(base: str | Path, **changes: Any) -> TrainConfig:
    """The base checkpoint's own optimisation settings (batch, learning rates, clipping, seed), which suit
    continuing it better than a fresh run's defaults, with `changes` (epochs, say) on top."""
    saved = TrainConfig.with_new_names(read_checkpoint_config(base).get("train_config") or {})
    kept = {k: saved[k] for k in KEPT_SETTINGS if k in saved}
    return TrainConfig.from_json({**TrainConfig().to_json(), "epochs": DEFAULT_EPOCHS, **kept, **changes})


@dataclass(frozen=True)
class FinetuneResult:
    output: Path
    state: TrainState
    lineage: dict[str, Any]


def finetune(base: str | Path, documents: Sequence[Document], output: str | Path, config: TrainConfig, *,
             device: str = "cpu", callbacks: Sequence[TrainerCallback] = (), evaluator: Evaluator | None = None,
             resume: bool = True, force_resume: bool = False, lineage: dict[str, Any] | None = None,
             allow_download: bool | None = None, source: str = "the training documents") -> FinetuneResult:
    """Train checkpoint `base` for `config.epochs` on the labelled `documents` into `output` (a checkpoint
    directory; `output/last` holds the resume state until the run ends). The new checkpoint keeps the base's
    calibration unless an `evaluator` run refits it (the CLI's --dev), and records `lineage` (base model, time,
    and what the caller adds: dataset, decisions) in its config.json, the key bench/ship_model.py writes.
    `source` names the documents in the refusal of a set without labels."""
    base = Path(base)
    docs = labelled(documents, source)
    base_config = read_checkpoint_config(base)
    run = RunDirectory(Path(output), data_hash(docs), {**config.to_json(), "init_from": str(base)}, config.save_dtype)
    last = run.resumable(force=force_resume) if resume else None
    if last is None:
        seed_everything(config.seed)
    loaded = load_checkpoint(last if last is not None else base, allow_download=allow_download)
    features = [loaded.tokenizer.featurize(d, loaded.schema) for d in docs]
    log.info("fine-tuning %s (%s) on %d documents for %d epochs", base, loaded.method, len(docs), config.epochs)
    trainer = Trainer(loaded, config, features, device=device, resume_dir=last, callbacks=list(callbacks),
                      evaluator=evaluator, run_directory=run)
    state = trainer.train()
    record = {"base_model": base.name, "base_path": str(base), "base_checkpoint_id": base_config.get("checkpoint_id"),
              "documents": len(docs), "labels": sum(len(d.facts or ()) for d in docs), "epochs": state.epoch,
              "fine_tuned_at": datetime.now(UTC).isoformat(timespec="seconds"), **(lineage or {})}
    fields: dict[str, Any] = {"lineage": record}
    if base_config.get("calibration") is not None and evaluator is None:
        fields["calibration"] = base_config["calibration"]
        record["calibration"] = INHERITED
    update_checkpoint_config(run.output, **fields)
    return FinetuneResult(run.output, state, record)
