"""What the ledger records of a finished run's checkpoint: held-out quality with the per-document counts a
paired bootstrap needs, and the false-negative recovery of the model's own margins on the Revisit documents.

Scoring runs in fp32 whatever the CPU, so that records made on different machines compare (bf16 and int8
inference move F1 by a few tenths; bench/speed.py measures those)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from engine.data.documents import Document
from engine.data.metrics import evaluate

FIXED_K = (50, 100, 200)
QUALITY_GROUPS = ("head", "mid", "tail", "intra", "inter", "multi_either", "multi_both")


@dataclass(frozen=True)
class EvaluationData:
    """The documents every run is measured on."""

    heldout: list[Document]
    train: list[Document]  # for Ign F1 and the head/mid/tail relation groups (full labels in both settings)
    revisit: Any  # fn_recovery.Setting: the revisit documents with DocRED labels and the triples they miss


def document_counts(gold: Sequence[Document], predicted: Sequence[set[tuple[int, int, str]]]) -> list[list[int]]:
    """Per document [true positives, predicted, gold]: summed over any subset of documents they give that
    subset's micro F1, which is what the table's paired bootstrap resamples."""
    rows = []
    for doc, pred in zip(gold, predicted):
        truth = {(f.h, f.t, f.r) for f in doc.facts or ()}
        rows.append([len(pred & truth), len(pred), len(truth)])
    return rows


def weights_digest(directory: Path) -> str:
    """A digest of the checkpoint's tensors (names and bytes, not the file's metadata, which holds a fresh
    checkpoint id at every save): equal digests mean the very same weights."""
    import torch  # noqa: PLC0415
    from safetensors import safe_open  # noqa: PLC0415

    h = hashlib.sha256()
    with safe_open(str(directory / "model.safetensors"), framework="pt") as f:
        for name in sorted(f.keys()):
            tensor = f.get_tensor(name).reshape(-1).contiguous()
            h.update(name.encode())
            h.update(tensor.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def measure_checkpoint(directory: Path, data: EvaluationData, device: str | None = None) -> dict[str, Any]:
    """The held-out and revisit figures of one checkpoint, as the ledger stores them (fractions, not percent)."""
    from engine.serve.predictor import Predictor  # noqa: PLC0415 - torch only where a model is scored
    from fn_recovery import at_k, margin_ranking  # noqa: PLC0415 - bench module, on sys.path via bench/

    predictor = Predictor.from_checkpoint(directory, device, precision="float32")
    scores = predictor.predict(data.heldout)
    predicted = [{(h, t, r) for h, t, r, _ in s.predicted_triples()} for s in scores]
    report = evaluate(data.heldout, [sorted(p) for p in predicted], data.train)
    heldout = {"f1": report.overall.f1, "ign_f1": report.ign_f1, "precision": report.overall.precision,
               "recall": report.overall.recall, "pair_detection": report.pair_detection.accuracy,
               **{group: report.groups[group].f1 for group in QUALITY_GROUPS if group in report.groups}}
    missing = data.revisit.missing
    ks = (*FIXED_K, len(missing))
    ranking = margin_ranking(data.revisit.documents, predictor.predict(data.revisit.documents), max(ks))
    recovery = at_k([key for _, key in ranking], missing, ks)
    revisit = {"documents": len(data.revisit.documents), "missing": len(missing),
               **{f"p@{k}": p for k, (p, _) in zip(FIXED_K, recovery)},
               **{f"r@{k}": r for k, (_, r) in zip(FIXED_K, recovery)},
               "p@missing": recovery[-1][0], "r@missing": recovery[-1][1]}
    return {"weights_digest": weights_digest(directory), "heldout": heldout, "revisit": revisit,
            "heldout_documents": {"titles": [d.title for d in data.heldout],
                                  "counts": document_counts(data.heldout, predicted)}}
