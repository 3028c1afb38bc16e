"""Peak memory and documents/s of `predict` on corpora of 1,000 and 10,000 documents: flat in corpus size?

The corpus: the 100 held-out documents repeated under new titles ("TITLE #k"), written as JSON Lines one
line at a time (never held whole). Each size runs `python -m engine predict --output OUT.jsonl` in a fresh
child process (peak RSS only grows within one) that reports its own peak resident set (ru_maxrss) and wall
time, model loading included.

    python bench/corpus_memory.py [--docs 1000 10000] [--checkpoint DIR] [--threads 2] [--window 256]
                                  [--workdir /tmp/corpus_memory]

Compares with: streaming should make the peak the same at 10,000 documents as at 1,000 (before it, predict
held every document's scores: about 0.3 MB per held-out document with 97 logits and probabilities per pair).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, command_line, heldout_docs, machine, run_child


def write_corpus(path: Path, n: int) -> None:
    """n held-out documents, cycled, each under a new title; written line by line."""
    from engine.data.documents import document_to_json

    docs = heldout_docs()
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for k in range(n):
            obj = document_to_json(docs[k % len(docs)])
            fh.write(json.dumps({**obj, "title": f"{obj['title']} #{k}"}, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def child(argv: list[str]) -> dict:
    """In this process: run predict, report its peak RSS and wall time."""
    from engine.cli.main import main

    start = time.perf_counter()
    code = main(argv)
    return {"code": code, "seconds": time.perf_counter() - start,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--checkpoint", help="checkpoint directory (default: the shipped default model)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--window", type=int, help="predict --window (default: predict's)")
    parser.add_argument("--workdir", default="/tmp/corpus_memory", help="where the corpora and outputs go")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child)))
        return
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    print(machine(args.threads))
    print(command_line())
    print()
    print("| documents | corpus MB | output MB | peak RSS (MB) | wall s (load included) | documents/s |")
    print("|---|---|---|---|---|---|")
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    for n in args.docs:
        corpus, out = work / f"corpus_{n}.jsonl", work / f"predictions_{n}.jsonl"
        if not corpus.is_file():
            write_corpus(corpus, n)
        argv = ["--quiet", "predict", "--input", str(corpus), "--output", str(out)]
        argv += ["--checkpoint", args.checkpoint] if args.checkpoint else []
        argv += ["--window", str(args.window)] if args.window else []
        r = run_child([sys.executable, __file__, "--child", *argv], env=env, cwd=ROOT)
        if isinstance(r, str):
            print(f"| {n:,} | | | {r} | | |", flush=True)
            continue
        print(f"| {n:,} | {corpus.stat().st_size / 1e6:,.1f} | {out.stat().st_size / 1e6:,.1f} | {r['peak_mb']:,.0f} | "
              f"{r['seconds']:,.1f} | {n / r['seconds']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
