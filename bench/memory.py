"""Peak memory of `predict` on one synthetic document of N entities, with the default shipped model.

Each size runs in a fresh process (peak RSS only grows within one), which loads the model, scores the one
document and reports its peak resident set (ru_maxrss) next to the RSS after loading, the pairs, word
pieces and seconds. The document: sentences "X met Y ." whose names are single word pieces, one mention
per entity, so a document of N entities has about 4 N word pieces with markers. Pairs are scored in chunks
under DOCRE_PAIR_MEMORY_MB (default 256); `--pair-memory-mb 1000000` puts every pair in one chunk, which is
how inference ran before chunking (compare with the issue's 41.8 GB for 1,816 entities).

    python bench/memory.py [--entities 200 500 1800] [--checkpoint DIR] [--pair-memory-mb 256] [--threads 2]

Compares with: the default entity limit in engine/settings.py, chosen from these figures.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import command_line, machine, run_child

NAMES = ("paris", "london", "berlin", "smith", "john", "mary", "river", "france", "china", "india", "james", "george",
         "texas", "ohio", "boston", "dallas", "rome", "egypt", "peter", "david", "anna", "maria", "japan", "spain")
TYPES = ("PER", "ORG", "LOC", "TIME", "NUM", "MISC")


FILLER = ("in", "the", "old", "town", "on", "a", "cold", "day", "after", "the", "long", "war", "with", "his", "new",
          "friends", "from", "the", "north", "and")


def synthetic_document(n_entities: int, title: str | None = None, filler: int = 0):
    """N entities, one single-piece mention each, two per sentence: "X met Y ."; `filler` more single-piece
    words per sentence before the full stop make it as long as a real text of that many entities."""
    from engine.data.documents import Document, Entity, Mention

    sents, entities = [], []
    for i in range(0, n_entities, 2):
        sent_id, sent = len(sents), []
        for j, k in enumerate(range(i, min(i + 2, n_entities))):
            name = NAMES[k % len(NAMES)]
            entities.append(Entity((Mention(name, sent_id, len(sent), len(sent) + 1, TYPES[k % len(TYPES)]),)))
            sent.append(name)
            if j == 0:
                sent.append("met")
        sents.append(tuple(sent + [FILLER[w % len(FILLER)] for w in range(filler)] + ["."]))
    return Document(title or f"synthetic {n_entities} entities", tuple(sents), tuple(entities))


def measure(n_entities: int, checkpoint: str | None, pair_memory_mb: int, threads: int) -> dict:
    """In this process: load, score one document, report (called in a child per size)."""
    import torch

    from engine.serve.predictor import Predictor

    torch.set_num_threads(threads)
    predictor = Predictor.from_checkpoint(checkpoint, "cpu", max_entities=n_entities, max_tokens=10 ** 7,
                                          pair_memory_mb=pair_memory_mb)
    doc = synthetic_document(n_entities)
    loaded_kb = _rss_kb()
    start = time.perf_counter()
    scores = predictor.predict([doc])[0]
    seconds = time.perf_counter() - start
    return {"entities": n_entities, "pairs": int(scores.logits.shape[0]),
            "tokens": predictor.featurize([doc])[0].length,
            "loaded_mb": loaded_kb / 1024, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "seconds": seconds, "method": predictor.method, "precision": predictor.precision}


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, nargs="+", default=[200, 500, 1800])
    parser.add_argument("--checkpoint", help="checkpoint directory (default: the shipped default model)")
    parser.add_argument("--pair-memory-mb", type=int, default=256, help="the chunk budget (DOCRE_PAIR_MEMORY_MB)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.checkpoint, args.pair_memory_mb, args.threads)))
        return
    print(machine(args.threads))
    print(command_line())
    print(f"pair chunk budget {args.pair_memory_mb} MB\n")
    print("| entities | ordered pairs | word pieces | RSS after loading (MB) | peak RSS (MB) | seconds | model, "
          "precision |")
    print("|---|---|---|---|---|---|---|")
    for n in args.entities:
        child = [sys.executable, __file__, "--child", str(n), "--pair-memory-mb", str(args.pair_memory_mb),
                 "--threads", str(args.threads)] + (["--checkpoint", args.checkpoint] if args.checkpoint else [])
        r = run_child(child)
        if isinstance(r, str):
            print(f"| {n:,} | | | | {r} | | |", flush=True)
            continue
        print(f"| {r['entities']:,} | {r['pairs']:,} | {r['tokens']:,} | {r['loaded_mb']:,.0f} | {r['peak_mb']:,.0f} | "
              f"{r['seconds']:.1f} | {r['method']}, {r['precision']} |", flush=True)


if __name__ == "__main__":
    main()
