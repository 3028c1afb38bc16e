"""The review queue's default minimum probability, read off the Revisit yield curve.

The app groups its queue by entity pair (one item per pair, its relations inside) and keeps the suggestions whose
calibrated probability is below a per-dataset minimum in a "long tail" (a pair is a queue item while one of its
relations is at or above it). This bench scores the 51 Revisit
documents (DocRED's incomplete labels; missing = the triples only the from-scratch labels hold) as the app
does (`engine.curate.suggestions.suggest` one document at a time, the shipped learned ranker, type and
relation statistics) and prints, per threshold: the queue items (pairs) per document, the triples they show, how
many of the missing triples the queue and the long tail hold, and the expected missing labels (sum of probabilities) in
the tail. The default is the lowest threshold (a multiple of 0.01) at which no document shows more than 60 items
(`engine.curate.yield_estimates.per_document_cap_threshold`): lowering the threshold only adds items, so it
loses the fewest missing triples of all thresholds that meet the cap.

Caveat printed with the table: the shipped ranker learned from the Revisit pairs, so its probabilities on
these documents are in-sample (optimistic for the share the shown queue holds).

    python bench/queue_threshold.py [--checkpoint DIR ...] [--max-items 60] [--scores-cache runs/score_cache]
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import DATA, command_line, machine
from engine.cli.score_cache import cached_scores
from engine.cli.scoring import discover_models, model_names
from engine.curate.suggestions import default_ranker, default_relation_stats, suggest
from engine.curate.type_stats import load_default_type_stats
from engine.curate.yield_estimates import per_document_cap_threshold
from engine.data.documents import read_documents
from engine.model.twin import measured_in_place

CURVE = (0.0, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5)

Pair = tuple[int, int, int]  # (document index, head, tail)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", nargs="+", help="checkpoint directories (default: every shipped model)")
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--max-items", type=int, default=60, help="queue items (pairs) a document may show")
    p.add_argument("--scores-cache", default=str(ROOT / "runs" / "score_cache"))
    p.add_argument("--device")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    data = Path(args.data)
    # held-out and Revisit documents are scored only by models that never trained on them (engine.model.twin)
    checkpoints = measured_in_place([Path(c) for c in args.checkpoint] if args.checkpoint else discover_models())
    docs = read_documents(data / "revisit" / "docred_labels.json").documents
    scratch = {d.title: d for d in read_documents(data / "revisit" / "scratch_labels.json").documents}
    missing = {(i, h, t, r) for i, d in enumerate(docs)
               for h, t, r in {(f.h, f.t, f.r) for f in scratch[d.title].facts or ()}
               - {(f.h, f.t, f.r) for f in d.facts or ()}}
    scores = cached_scores(checkpoints, docs, Path(args.scores_cache), args.device, quiet=True)
    type_stats, _ = load_default_type_stats()
    ranker, relation_stats = default_ranker(), default_relation_stats()

    best: dict[Pair, float] = {}  # each pair's best probability: its place in the grouped queue
    prob: dict[tuple[int, int, int, str], float] = {}
    for i, doc in enumerate(docs):  # as the app's scoring job: one document at a time
        for s in suggest([doc], {name: [ps[i]] for name, ps in scores.items()}, type_stats=type_stats,
                         ranker=ranker, relation_stats=relation_stats):
            prob[(i, s.h, s.t, s.r)] = s.ranking_score
            best[(i, s.h, s.t)] = max(best.get((i, s.h, s.t), 0.0), s.ranking_score)
    per_doc: dict[int, list[float]] = defaultdict(list)
    for (i, _, _), value in best.items():
        per_doc[i].append(value)
    in_pool = [key for key in missing if key in prob]
    chosen = per_document_cap_threshold([per_doc[i] for i in range(len(docs))], args.max_items)

    print("# Review queue: the default minimum probability (Revisit yield curve)\n")
    print(f"machine: {machine()}")
    print(f"command: {command_line()}")
    print(f"models: {', '.join(model_names(checkpoints))}; ranker: the shipped one (in-sample on these documents: "
          "it learned from the Revisit pairs)")
    print(f"{len(docs)} documents, {len(missing)} missing triples, {len(in_pool)} of them among the "
          f"{len(prob)} suggestions ({len(best)} pairs)\n")
    print("| min probability | pairs shown (max / mean per doc) | triples shown | missing shown | missing in "
          "long tail | tail share of all missing | tail share of suggested missing | expected in tail |")
    print("|---|---|---|---|---|---|---|---|")
    for threshold in sorted({*CURVE, chosen}):
        shown = {pair for pair, value in best.items() if value >= threshold}
        counts = [sum(1 for pair in shown if pair[0] == i) for i in range(len(docs))]
        tail = [key for key in in_pool if prob[key] < threshold]
        expected = sum(v for v in prob.values() if v < threshold)
        triples = sum(1 for v in prob.values() if v >= threshold)
        mark = " (default)" if threshold == chosen else ""
        print(f"| {threshold:.2f}{mark} | {max(counts)} / {sum(counts) / len(docs):.1f} | {triples} | "
              f"{len(in_pool) - len(tail)} | {len(tail)} | {100 * len(tail) / len(missing):.1f} % | "
              f"{100 * len(tail) / max(len(in_pool), 1):.1f} % | {expected:.1f} |")
    print(f"\ndefault: {chosen:.2f}, the lowest multiple of 0.01 at which no document shows more than "
          f"{args.max_items} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
