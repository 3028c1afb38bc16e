"""One training loop for every method: AdamW with encoder and classifier learning rates, linear warm-up and
decay, clipping, real gradient accumulation, seeding, bf16 autocast where the hardware computes bf16 natively (CUDA,
AVX512-BF16 or AMX CPUs), Accelerate when launched on several GPUs. The trainer owns the state and history, evaluates
and saves when its `TrainerControl` says so; callbacks (progress display, early stopping) observe and steer through
hooks. The loop knows no method."""
from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from engine.config import TrainConfig
from engine.data.documents import Document
from engine.model.checkpoint import LoadedModel
from engine.model.encoder import DocumentEncoder
from engine.model.features import DocFeatures, collate
from engine.serve.numeric_precision import resolve_training_precision, training_autocast
from engine.train.callbacks import EpochFlow, TrainerCallback
from engine.train.run_directory import RunDirectory
from engine.train.state import TrainerControl, TrainState, load_training_state

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def data_hash(documents: Sequence[Document]) -> str:
    """A hash of what training saw (text, entities, labels), recorded in the checkpoint."""
    h = hashlib.sha256()
    for doc in documents:
        h.update(repr((doc.title, doc.sents, [[(m.sent_id, m.start, m.end) for m in e.mentions] for e in doc.entities],
                       [(f.h, f.t, f.r) for f in doc.facts or ()])).encode())
    return h.hexdigest()[:16]


def hidden_triples(features: Sequence[DocFeatures], fraction: float, seed: int) -> list[frozenset]:
    """Per document, the (h, t, class) triples hidden from training: a seeded `fraction` of all of them."""
    if fraction <= 0:
        return [frozenset() for _ in features]
    triples = [(d, fact) for d, f in enumerate(features) for fact in sorted(set(f.facts))]
    chosen = random.Random(seed).sample(range(len(triples)), round(fraction * len(triples)))
    hidden: list[set] = [set() for _ in features]
    for i in chosen:
        d, fact = triples[i]
        hidden[d].add(fact)
    return [frozenset(h) for h in hidden]


def bucketed_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: shuffle, sort within chunks of 16 batches, shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * 16
    batches = []
    for c in range(0, len(order), chunk):
        part = sorted(order[c:c + chunk], key=lambda i: lengths[i])
        batches.extend(part[b:b + batch_size] for b in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


Evaluator = Callable[[LoadedModel, str], dict]  # (model as it is now, device) -> dev metrics with "f1"


def accumulation_divisor(batch: int, num_batches: int, accumulation: int) -> int:
    """How many batches share the optimiser step of `batch`: the accumulation count, except for an epoch's
    last group, which may be shorter and must be averaged over its own size."""
    group_start = batch - batch % accumulation
    return min(accumulation, num_batches - group_start)


def linear_schedule(warmup: int, total: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))
    return factor


@dataclass
class Trainer:
    loaded: LoadedModel
    config: TrainConfig
    train_features: list[DocFeatures]
    callbacks: list[TrainerCallback] = field(default_factory=list)
    device: str = "cpu"
    resume_dir: Path | None = None
    evaluator: Evaluator | None = None  # dev evaluation; without it the latest epoch is the best
    run_directory: RunDirectory | None = None  # where checkpoints go; None: nothing is saved

    def __post_init__(self) -> None:
        # Seeding is the caller's (it must precede building the model); the loop seeds its own streams per epoch.
        self.config.validate()
        self.callbacks = [EpochFlow(), *self.callbacks]
        self.control = TrainerControl()
        self.accelerator = _maybe_accelerator(self.device)
        if self.accelerator is not None:
            self.device = str(self.accelerator.device)
        self.precision = resolve_training_precision(self.config.precision, torch.device(self.device))
        if self.config.deterministic and torch.device(self.device).type == "cpu":
            # Two threads adding into one row atomically (index_put with accumulate) sum in a varying order, so
            # two runs, or a run and its resumption, drifted apart at the last bit; CUDA keeps its own kernels
            torch.use_deterministic_algorithms(True, warn_only=True)
        log.info("training precision %s on %s", self.precision, self.device)
        model = self.loaded.model.to(self.device)
        # every encoder (KMGRE's separate key encoder too) trains at the encoder rate
        encoders = [m for m in model.modules() if isinstance(m, DocumentEncoder)]
        encoder_params = [p for m in encoders for p in m.parameters() if p.requires_grad]
        encoder_ids = {id(p) for m in encoders for p in m.parameters()}
        classifier_params = [p for p in model.parameters() if p.requires_grad and id(p) not in encoder_ids]
        self.optimizer = torch.optim.AdamW(
            [{"params": encoder_params, "lr": self.config.lr_encoder},
             {"params": classifier_params, "lr": self.config.lr_classifier}],
            weight_decay=self.config.weight_decay, eps=1e-6)
        batches = math.ceil(len(self.train_features) / self.config.batch_size)
        per_epoch = math.ceil(batches / self.config.grad_accumulation)
        total = per_epoch * self.config.epochs
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, linear_schedule(int(self.config.warmup_ratio * total), total))
        self.model = model
        if self.accelerator is not None:
            self.model, self.optimizer, self.scheduler = self.accelerator.prepare(model, self.optimizer, self.scheduler)
        self.hidden = hidden_triples(self.train_features, self.config.drop_labels, self.config.hidden_triples_seed)
        self.state = TrainState()
        if self.resume_dir is not None and (self.resume_dir / "optimizer.safetensors").is_file():
            self.state = load_training_state(self.resume_dir, self.optimizer, self.scheduler)
            log.info("resumed from %s after epoch %d", self.resume_dir, self.state.epoch)

    def _autocast(self) -> contextlib.AbstractContextManager:
        return training_autocast(torch.device(self.device), self.precision)

    def _fire(self, hook: str, **kwargs) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(self.config, self.state, self.control, **kwargs)

    def train(self) -> TrainState:
        cfg, enc_cfg = self.config, self.loaded.encoder_config
        lengths = [f.length for f in self.train_features]
        rank, world = (self.accelerator.process_index, self.accelerator.num_processes) if self.accelerator else (0, 1)
        self._fire("on_train_begin")
        for epoch in range(self.state.epoch, cfg.epochs):
            torch.manual_seed(cfg.seed + epoch)  # dropout stream, reproducible across resumes
            batches = bucketed_batches(lengths, cfg.batch_size, random.Random(cfg.seed + epoch))[rank::world]
            self.state.batch, self.state.num_batches, self.state.epoch_loss = 0, len(batches), 0.0
            self._fire("on_epoch_begin")
            self.model.train()
            started, seen = time.perf_counter(), 0
            classifier = self.unwrapped_model().classifier
            for b, idx in enumerate(batches):
                classifier.on_train_progress(epoch, self.state.step)
                batch = collate([self.train_features[i] for i in idx], self.loaded.tokenizer,
                                max_window=enc_cfg.max_window, overlap=enc_cfg.window_overlap,
                                num_classes=self.loaded.schema.num_classes, with_labels=True,
                                hidden_facts=[self.hidden[i] for i in idx]).to(self.device)
                with self._autocast():
                    loss = self.model(batch).loss
                divisor = accumulation_divisor(b, len(batches), cfg.grad_accumulation)
                if self.accelerator is not None:
                    self.accelerator.backward(loss / divisor)
                else:
                    (loss / divisor).backward()
                if (b + 1) % cfg.grad_accumulation == 0 or b + 1 == len(batches):
                    self._optimizer_step()
                seen += len(idx)
                self.state.batch, self.state.loss = b + 1, float(loss.detach())
                self.state.epoch_loss += (self.state.loss - self.state.epoch_loss) / (b + 1)
                self.state.docs_per_second = seen / max(time.perf_counter() - started, 1e-9)
                self._fire("on_step_end")
            self.state.epoch = epoch + 1
            self.state.history.append({"epoch": epoch + 1, "train_loss": self.state.epoch_loss,
                                       "docs_per_second": self.state.docs_per_second})
            self._fire("on_epoch_end")
            self._evaluate_and_save()
            if self.control.should_stop:
                break
        if self.run_directory is not None and self.is_main_process and self.state.epoch >= cfg.epochs:
            self.run_directory.finish()
        self._fire("on_train_end")
        return self.state

    def _evaluate_and_save(self) -> None:
        """Act on the control flags: dev metrics into the history, the best epoch and the resume state to disk."""
        metrics: dict = {}
        if self.control.should_evaluate:
            self.control.should_evaluate = False
            if self.evaluator is not None and self.is_main_process:
                metrics = self.evaluator(self.loaded, self.device)
                self.state.history[-1].update({f"dev_{k}": v for k, v in metrics.items()})
                log.info("epoch %d: %s", self.state.epoch,
                         {k: round(v, 4) for k, v in metrics.items() if v is not None})
                self._fire("on_evaluate", metrics=metrics)
        if self.control.should_save:
            self.control.should_save = False
            if self.run_directory is not None and self.is_main_process:
                score = metrics.get("f1", float(self.state.epoch))  # without dev, the latest epoch is the best
                if score > self.state.best_score:
                    self.state.best_score, self.state.best_epoch = score, self.state.epoch
                    self.run_directory.save_best(self.loaded, self.state, metrics)
                self.run_directory.save_last(self.loaded, self.state, metrics, self.optimizer, self.scheduler)
                self._fire("on_save")

    def _optimizer_step(self) -> None:
        if self.config.max_grad_norm > 0:
            params = [p for g in self.optimizer.param_groups for p in g["params"]]
            if self.accelerator is not None:
                self.accelerator.clip_grad_norm_(params, self.config.max_grad_norm)
            else:
                torch.nn.utils.clip_grad_norm_(params, self.config.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.state.step += 1

    @property
    def is_main_process(self) -> bool:
        return self.accelerator is None or self.accelerator.is_main_process

    def unwrapped_model(self):
        return self.accelerator.unwrap_model(self.model) if self.accelerator is not None else self.model


def _maybe_accelerator(device: str):
    """Accelerate only when launched with several processes (`accelerate launch`); a plain run needs none."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    from accelerate import Accelerator, DistributedDataParallelKwargs  # noqa: PLC0415 - only for multi-GPU runs

    # EM phases (KMGRE) and frozen parts leave some parameters without gradients in a step; the trainer's own
    # autocast (TrainConfig.precision) is the one source of mixed precision, so Accelerate adds none
    return Accelerator(mixed_precision="no",
                       kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
