"""The scoring job's ranking step alone, on one long synthetic document: peak RSS and seconds of
`engine.curate.suggestions.suggest` with the shipped ranker, type and relation statistics, as
db.workflows.scoring.refresh_suggestions calls it after a job has scored a document (issue 25 point 5).

Each size runs in a fresh child process whose imports come from `--root` (a checkout: this one by default,
another for a before/after). The child builds bench/memory.py's document and one model's scores of it without a
model: family "paee" (the shipped default's), threshold logit 0 and margins drawn from a seeded normal
(`--margin-mean`, `--margin-sd`; the default puts about 0.02% of the triples inside the shipped ranker's band,
as the default model did on the 120-entity text of bench/long_document.py). It reports ru_maxrss after loading
the ranker and building the scores, and again after ranking: the step's own cost is the difference.

    python bench/queue_memory.py [--entities 120 540] [--root DIR] [--margin-mean -12] [--margin-sd 2]

Compares with: bench/RESULTS.md's long-document section (the dense grids: 0.9 GB per grid at 540 entities by
arithmetic; the app's job at 903 MB against the CLI's 514 MB at 120 entities).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, command_line, machine  # noqa: E402  - bench scripts run as files


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(n_entities: int, root: Path, mean: float, sd: float) -> None:
    """In this process, with `root`'s code: build the inputs, rank, print the figures as JSON."""
    sys.path.insert(0, str(root))
    import numpy as np  # noqa: PLC0415

    from engine.curate.suggestions import default_ranker, default_relation_stats, suggest  # noqa: PLC0415
    from engine.curate.type_stats import load_default_type_stats  # noqa: PLC0415
    from engine.data.pair_scores import PairScores  # noqa: PLC0415
    from engine.data.schema import default_schema  # noqa: PLC0415
    from memory import synthetic_document  # noqa: PLC0415

    doc = synthetic_document(n_entities)
    doc = type(doc)(doc.title, doc.sents, doc.entities, ())  # labelled-empty, as review_target makes it
    rels = default_schema().relation_ids
    hs, ts = np.nonzero(~np.eye(n_entities, dtype=bool))
    rng = np.random.default_rng(0)
    logits = np.zeros((len(hs), len(rels) + 1), dtype=np.float32)
    logits[:, 1:] = rng.normal(mean, sd, size=(len(hs), len(rels)))
    probs = (1 / (1 + np.exp(-logits))).astype(np.float32)
    scores = PairScores(doc.title, "paee.v1", rels, hs, ts, logits, probs, logits[:, 1:] > 0)
    ranker, relation_stats = default_ranker(), default_relation_stats()
    type_stats = load_default_type_stats()[0]
    before = peak_mb()
    start = time.perf_counter()
    found = suggest([doc], {"paee": [scores]}, type_stats=type_stats, ranker=ranker, relation_stats=relation_stats)
    seconds = time.perf_counter() - start
    print(json.dumps({"inputs_mb": before, "peak_mb": peak_mb(), "seconds": seconds, "suggestions": len(found),
                      "slots": list(ranker.slots)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, nargs="+", default=[120, 540])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose code ranks (default: this one)")
    parser.add_argument("--margin-mean", type=float, default=-12.0)
    parser.add_argument("--margin-sd", type=float, default=2.0)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.root.resolve(), args.margin_mean, args.margin_sd)
        return
    print(machine())
    print(command_line())
    print(f"load average {os.getloadavg()[0]:.1f} at the start; code {args.root.resolve()}\n")
    print("| entities | ordered pairs | suggestions | RSS before ranking (MB) | peak RSS (MB) | ranking adds (MB) "
          "| ranking s |")
    print("|---|---|---|---|---|---|---|")
    for n in args.entities:
        done = subprocess.run([sys.executable, __file__, "--child", str(n), "--root", str(args.root.resolve()),
                               "--margin-mean", str(args.margin_mean), "--margin-sd", str(args.margin_sd)],
                              cwd=args.root, capture_output=True, text=True)
        if done.returncode:
            print(f"| {n} | failed: {(done.stderr.strip().splitlines() or ['?'])[-1]} |")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"| {n} | {n * (n - 1):,} | {r['suggestions']:,} | {r['inputs_mb']:,.0f} | {r['peak_mb']:,.0f} "
              f"| {r['peak_mb'] - r['inputs_mb']:,.0f} | {r['seconds']:.1f} |")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
