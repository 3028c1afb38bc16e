"""Is the methods grid's budget enough? (issue 23: "the baseline's dev F1 should be flat over its last two
epochs"). A method (atlop, the baseline, by default) continues the full setting's warm start exactly as its
grid run does (`grid.plan.train_args`: budget, options), but on an inner split of the 400 `train` titles: 350
to train on, 50 as dev, drawn with a fixed seed, so `heldout` is never looked at. The per-epoch dev F1 goes to
bench/ledger/budget/full-<method>.json; the inner checkpoint stays in --runs-dir for choices made on the inner
dev documents (bench/p3m_shift.py).

With --warm inner the warm start is not the shipped atlop, which trained on all 400 `train` titles (the inner
dev ones included, so continuing it on them only memorises them further), but one rebuilt the shipped atlop's way
(bare encoder, 20 epochs, rates 1e-4, seed 66, the last epoch) on the 350 inner-train titles alone: the check
then sees the inner dev documents for the first time, as the grid sees `heldout`. Resumable; the record goes to
bench/ledger/budget/full-<method>-inner-warm.json.

    python bench/budget_check.py [--method atlop] [--dev-docs 50] [--seed 0] [--warm shipped|inner]"""
from __future__ import annotations

import argparse
import ast
import json
import random
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DATA, ROOT, machine  # noqa: E402
from grid.plan import BASELINE, METHODS, Budget, GridRun, Paths, train_args  # noqa: E402

FLAT = 0.5  # F1 points: what "flat" means between the last two epochs (about a third of the seed spread)
# the shipped atlop's recipe (bench/RESULTS.md), for a warm start that never saw the inner dev titles
INNER_WARM_ARGS = ["--method", "atlop", "--epochs", "20", "--lr-encoder", "1e-4", "--lr-classifier", "1e-4",
                   "--seed", "66"]


def inner_split(split_file: Path, dev_docs: int, seed: int) -> dict[str, list[str]]:
    """The `train` titles dealt into inner_train / inner_dev, deterministic for a seed."""
    titles = sorted(json.loads(split_file.read_text(encoding="utf-8"))["train"])
    random.Random(seed).shuffle(titles)
    return {"inner_dev": sorted(titles[:dev_docs]), "inner_train": sorted(titles[dev_docs:])}


def dev_f1_by_epoch(log_text: str) -> list[float]:
    """Dev F1 in percent of each epoch, from the trainer's "epoch N: {...}" log lines."""
    found = {int(m.group(1)): ast.literal_eval(m.group(2))["f1"]
             for m in re.finditer(r"epoch (\d+): (\{[^}]*\})", log_text)}
    return [round(100 * found[e] if found[e] <= 1 else found[e], 2) for e in sorted(found)]


def continuation_gain(warm: Path, final: Path, data: Path, split: Path) -> dict:
    """Inner-dev F1 (fp32) of the warm start and of the budget's last checkpoint, and the paired bootstrap 95%
    interval of their difference over the dev documents: how large a change the 50 documents can tell from
    noise, which is what a "flat last epoch" is read against."""
    import numpy as np  # noqa: PLC0415

    from engine.data.documents import read_documents  # noqa: PLC0415
    from engine.serve.predictor import Predictor  # noqa: PLC0415
    from grid.measure import document_counts  # noqa: PLC0415
    from grid.table import f1_of, paired_bootstrap  # noqa: PLC0415

    titles = set(json.loads(split.read_text(encoding="utf-8"))["inner_dev"])
    dev = [d for d in read_documents(data).documents if d.title in titles]
    counts = {}
    for name, directory in (("warm", warm), ("final", final)):
        scores = Predictor.from_checkpoint(directory, "cpu", precision="float32").predict(dev)
        counts[name] = np.array(document_counts(dev, [{(h, t, r) for h, t, r, _ in s.predicted_triples()}
                                                      for s in scores]))
    difference, low, high = paired_bootstrap([counts["final"]], [counts["warm"]])
    return {"warm_f1": round(100 * float(f1_of(counts["warm"].sum(0))), 2),
            "final_f1": round(100 * float(f1_of(counts["final"].sum(0))), 2),
            "difference": round(100 * difference, 2), "interval_95": [round(100 * low, 2), round(100 * high, 2)]}


def _finished(directory: Path, epochs: int) -> bool:
    """A checkpoint of all its epochs, with no resume state left."""
    config = directory / "config.json"
    return (config.is_file() and not (directory / "last").exists()
            and json.loads(config.read_text(encoding="utf-8")).get("epoch") == epochs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", default=BASELINE, choices=METHODS)
    p.add_argument("--dev-docs", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs-dir", default=str(ROOT / "runs" / "budget"))
    p.add_argument("--out", help="default: bench/ledger/budget/full-METHOD[-inner-warm].json")
    p.add_argument("--warm", choices=("shipped", "inner"), default="shipped",
                   help="continue the shipped atlop, or an atlop built on the inner-train titles alone")
    args = p.parse_args(argv)
    runs = Path(args.runs_dir) / (args.method if args.warm == "shipped" else f"{args.method}-inner-warm")
    runs.mkdir(parents=True, exist_ok=True)
    split = runs / "inner_split.json"
    split.write_text(json.dumps(inner_split(DATA / "redocred" / "split.json", args.dev_docs, args.seed)),
                     encoding="utf-8")
    data = DATA / "redocred" / "dev_revised.json"
    budget = Budget()
    shipped = ROOT / "assets" / "models" / BASELINE
    encoder = json.loads((shipped / "config.json").read_text(encoding="utf-8"))["encoder"]["name"]
    warm, warm_command = shipped, None
    if args.warm == "inner":
        warm = runs / "warm"
        warm_command = [sys.executable, "-m", "engine", "--quiet", "train", *INNER_WARM_ARGS, "--encoder", encoder,
                        "--train", str(data), "--train-split", f"{split}:inner_train", "--output", str(warm)]
        if not _finished(warm, 20):  # resumes from its last epoch after a kill
            subprocess.run(warm_command, cwd=ROOT, check=True)
    paths = Paths(ROOT, DATA, runs, ROOT / "bench" / "ledger" / "methods", warm, warm)
    grid_args = train_args(GridRun("full", args.method, args.seed), budget, paths, encoder)
    grid_args[grid_args.index("--train-split") + 1] = f"{split}:inner_train"
    grid_args[grid_args.index("--output") + 1] = str(runs / "inner")
    grid_args.remove("--quiet")  # the per-epoch dev figures are read from the log: the checkpoint keeps only
    # the history up to its best epoch (with --dev, train keeps the best epoch, not the last)
    command = [sys.executable, "-m", "engine", *grid_args, "--dev", str(data), "--dev-split", f"{split}:inner_dev"]
    log_path = runs / "train.log"
    if not (_finished(runs / "inner", budget.epochs) and log_path.is_file()):  # a finished check is only re-read
        with open(log_path, "w", encoding="utf-8") as log_file:
            subprocess.run(command, cwd=ROOT, check=True, stdout=log_file, stderr=subprocess.STDOUT)
    dev_f1 = dev_f1_by_epoch(log_path.read_text(encoding="utf-8"))
    history = json.loads((runs / "inner" / "config.json").read_text(encoding="utf-8"))["history"]
    record = {"setting": "full", "method": args.method, "budget": vars(budget), "command": command[1:],
              "warm_start": "assets/models/atlop (trained on all 400 train titles, the inner dev ones included)"
              if warm_command is None else {"built_on": "the inner-train titles only", "command": warm_command[1:]},
              "inner_split_seed": args.seed,
              "dev_docs": args.dev_docs, "dev_f1_by_epoch": dev_f1, "flat_within": FLAT,
              "flat": abs(dev_f1[-1] - dev_f1[-2]) <= FLAT,
              "machine": machine(),
              "docs_per_second": [round(h["docs_per_second"], 2) for h in history],
              "kept_epoch": len(history)}
    if warm_command is not None:  # what the whole budget adds to a warm start that never saw the dev titles
        record["continuation_gain"] = continuation_gain(warm, runs / "inner", data, split)
    suffix = "" if args.warm == "shipped" else "-inner-warm"
    out = Path(args.out or ROOT / "bench" / "ledger" / "budget" / f"full-{args.method}{suffix}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
