"""PAEE's restriction as a cheaper classifier (issue 24 point 2): relation logits computed only for the pairs
whose pair-aware potential (Eq. 5) exceeds a threshold, the grouped bilinear skipped for the others.

The threshold is chosen on the `train` documents without their labels: the largest of a grid whose restriction
removes at most --max-lost of the model's own predicted relations (so no held-out figure chooses it). Then, on
the 100 `heldout` documents: the share of pairs kept, of gold triples in skipped pairs, P / R / F1 with the
restriction against without it (a paired bootstrap over documents for the difference), and predict
documents/s of both in alternating rounds of one process (the ratio is what compares)."""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, command_line, heldout_docs, machine, train_docs  # noqa: E402

GRID = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)


def restricted_copy(checkpoint: Path, threshold: float, into: Path) -> Path:
    """The checkpoint with restrict_decode on at `threshold`, as a shipped config would say it."""
    out = into / f"restricted-{threshold:g}"
    shutil.copytree(checkpoint, out)
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    config["method_config"].update(restrict_decode=True, restrict_threshold=threshold)
    (out / "config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    return out


def potentials(scores) -> list[np.ndarray]:
    return [np.asarray(s.extras["pair_potential"].values) for s in scores]


def choose_threshold(scores, max_lost: float) -> tuple[float, dict]:
    """Largest grid threshold whose restriction drops at most max_lost of the predicted relations (no labels)."""
    decoded = sum(int(s.decoded.sum()) for s in scores)
    lost = {t: sum(int(s.decoded[p <= t].sum()) for s, p in zip(scores, potentials(scores))) / max(decoded, 1)
            for t in GRID}
    allowed = [t for t in GRID if lost[t] <= max_lost]
    return (max(allowed) if allowed else min(GRID)), lost


def per_document_counts(docs, scores) -> np.ndarray:
    """(n_docs, 3): true positives, predicted, gold per document."""
    rows = []
    for doc, s in zip(docs, scores):
        index = {(int(h), int(t)): i for i, (h, t) in enumerate(zip(s.heads, s.tails))}
        column = {r: j for j, r in enumerate(s.relation_ids)}
        gold = {(index[(f.h, f.t)], column[f.r]) for f in doc.facts if f.r in column}
        predicted = set(zip(*np.nonzero(s.decoded)))
        rows.append((len(gold & predicted), len(predicted), len(gold)))
    return np.asarray(rows, dtype=np.int64)


def f1(counts: np.ndarray) -> float:
    tp, predicted, gold = counts.sum(axis=0)
    return 200.0 * tp / max(predicted + gold, 1)


def paired_interval(a: np.ndarray, b: np.ndarray, rounds: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval over documents of F1(b) - F1(a)."""
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(rounds):
        pick = rng.integers(0, len(a), len(a))
        diffs.append(f1(b[pick]) - f1(a[pick]))
    return float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "assets" / "models" / "paee")
    parser.add_argument("--max-lost", type=float, default=0.005,
                        help="share of the model's own predicted relations the restriction may drop on train")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds over the held-out documents")
    args = parser.parse_args()
    from engine.serve.predictor import Predictor  # noqa: PLC0415

    print(machine())
    print(command_line())
    from engine.model.twin import measured_in_place  # noqa: PLC0415

    # held-out F1 is measured on a model that never trained on those documents: the twin of one that did
    args.checkpoint = measured_in_place([args.checkpoint])[0]
    full = Predictor.from_checkpoint(args.checkpoint)
    train = train_docs()
    threshold, lost = choose_threshold(full.predict(train), args.max_lost)
    print(f"threshold chosen on the {len(train)} train documents (no labels): {threshold:g}; predicted relations "
          "a restriction drops there: " + ", ".join(f"{t:g}: {100 * v:.2f}%" for t, v in lost.items()))
    docs = heldout_docs()
    with tempfile.TemporaryDirectory() as tmp:
        restricted = Predictor.from_checkpoint(restricted_copy(args.checkpoint, threshold, Path(tmp)))
        base_scores, cheap_scores = full.predict(docs), restricted.predict(docs)
        seconds = {"full": [], "restricted": []}
        for _ in range(args.rounds):
            for name, model in (("full", full), ("restricted", restricted)):
                start = time.perf_counter()
                model.predict(docs)
                seconds[name].append(time.perf_counter() - start)
    pots = potentials(base_scores)
    kept = sum(int((p > threshold).sum()) for p in pots) / sum(len(p) for p in pots)
    gold_total = gold_skipped = 0
    for doc, s, p in zip(docs, base_scores, pots):
        index = {(int(h), int(t)): i for i, (h, t) in enumerate(zip(s.heads, s.tails))}
        gold_total += len(doc.facts)
        gold_skipped += sum(p[index[(f.h, f.t)]] <= threshold for f in doc.facts)
    a, b = per_document_counts(docs, base_scores), per_document_counts(docs, cheap_scores)
    low, high = paired_interval(a, b)
    rate = {k: len(docs) / float(np.median(v)) for k, v in seconds.items()}
    print(f"\nheld-out ({len(docs)} documents, precision {full.precision}):\n")
    print("| classifier | pairs scored | gold triples in skipped pairs | P | R | F1 | documents/s (median of "
          f"{args.rounds}) |")
    print("|---|---|---|---|---|---|---|")
    for name, counts, share, skipped in (("full", a, 1.0, 0), ("restricted", b, kept, gold_skipped)):
        tp, predicted, gold = counts.sum(axis=0)
        print(f"| {name} | {100 * share:.1f}% | {skipped} of {gold_total} ({100 * skipped / gold_total:.1f}%) | "
              f"{100 * tp / max(predicted, 1):.2f} | {100 * tp / max(gold, 1):.2f} | {f1(counts):.2f} | "
              f"{rate[name]:.2f} |")
    print(f"\nF1 restricted - full: {f1(b) - f1(a):+.2f}, paired bootstrap 95% [{low:+.2f}, {high:+.2f}]; "
          f"speed ratio restricted / full: {rate['restricted'] / rate['full']:.2f}")


if __name__ == "__main__":
    main()
