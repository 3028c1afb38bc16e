"""Every method on the same data, epochs and seed: held-out quality, false-negative recovery and cost.

For each setting (full: all training triples; half: `--drop-labels 0.5`, a seeded half of the training
triples hidden) and each method (atlop, ncrl, pemscl, the three P3M variants pm/p2m/p3m, kmgre, paee), one
`python -m engine train` subprocess trains on the `train` titles of shared/data/redocred/split.json
(documents from dev_revised.json) into RUNS/<setting>/<method>/, without dev evaluation (the last epoch
is the checkpoint: nothing is chosen on held-out documents). A run whose config.json already has the
requested epoch and no `last/` directory is finished and skipped; an unfinished one resumes from `last/`.
Wall time and peak resident memory of each training process come from os.wait4 on that process (its own
rusage, not the RUSAGE_CHILDREN maximum over every child); CUDA peak memory is written by the child itself.
"train s/doc" is the trainer's own per-epoch step time (history in config.json), so it leaves out model
loading, featurising and checkpoint writing, which the wall time includes.

Then, in this process, each checkpoint scores the `heldout` titles: F1, Ign F1, P, R, F1 of the head/mid/tail
relation-frequency groups, Rela (PAEE's pair detection accuracy), and prediction documents/s; Ign F1 and the
groups use the full labels of the training documents in both settings. And the revisit false-negative
recovery of bench/fn_recovery.py: the model's margin ranking of every non-gold triple of
revisit/docred_labels.json against the triples only revisit/scratch_labels.json holds (1,117), P and R at
K = 50, 100, 200 and K = the number missing.

Compare with (shared/data/README.md): ATLOP with the default MiniLM encoder, 30 epochs on the 400 train
documents, reaches F1 54-56 on heldout; a plain ATLOP margin ranking recovers a little under a third of the
revisit missing triples at K = 1,117. Prints Markdown tables for bench/RESULTS.md; never pass/fail.

    python bench/methods.py [--methods atlop,ncrl,...] [--settings full,half] [--epochs 30] [--seed 66]
        [--device cuda] [--runs-dir runs/bench] [--skip-train]
    smoke: python bench/methods.py --epochs 1 --max-train-docs 4 --max-eval-docs 4 --encoder TINY --runs-dir /tmp/x
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, command_line, machine
from engine.config import DEFAULT_ENCODER, TrainConfig

# bench name -> (registered method, --option values)
METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "atlop": ("atlop", {}), "ncrl": ("ncrl", {}), "pemscl": ("pemscl", {}),
    "p3m-pm": ("p3m", {"variant": "pm"}), "p3m-p2m": ("p3m", {"variant": "p2m"}), "p3m-p3m": ("p3m", {"variant": "p3m"}),
    "kmgre": ("kmgre", {}), "paee": ("paee", {}),
}
ALIASES = {"p3m": ("p3m-pm", "p3m-p2m", "p3m-p3m")}
SETTINGS = {"full": 0.0, "half": 0.5}  # setting -> share of training triples hidden
FIXED_K = (50, 100, 200)
BENCH_FILE = "bench.json"  # per run: one entry per training session this script ran
BASELINE = "atlop"

# The training subprocess: `python -m engine ...` plus the CUDA peak written to argv[1] at the end.
CHILD = ("import json, sys\n"
         "from engine.cli.main import main\n"
         "rc = main(sys.argv[2:])\n"
         "import torch\n"
         "if torch.cuda.is_available():\n"
         "    open(sys.argv[1], 'w').write(json.dumps({'cuda_peak_mb': torch.cuda.max_memory_allocated() / 2**20}))\n"
         "sys.exit(rc)\n")


@dataclass
class Run:
    setting: str
    name: str
    directory: Path
    engine_args: list[str]
    status: str = ""  # done / resumed / trained / failed / missing
    note: str = ""
    quality: dict[str, float] = field(default_factory=dict)
    fn: list[tuple[float, float]] = field(default_factory=list)
    cost: dict[str, float | None] = field(default_factory=dict)


def parse_list(text: str, known: Sequence[str], what: str, aliases: dict | None = None) -> list[str]:
    out: list[str] = []
    for item in (s.strip() for s in text.split(",") if s.strip()):
        names = (aliases or {}).get(item, (item,))
        for name in names:
            if name not in known:
                raise SystemExit(f"unknown {what} {item!r}; known: {', '.join([*known, *(aliases or {})])}")
            if name not in out:
                out.append(name)
    return out


def engine_train_args(args: argparse.Namespace, name: str, drop: float, output: Path) -> list[str]:
    """Arguments of `python -m engine` for one run (the same for a fresh start and a resume)."""
    method, options = METHODS[name]
    data = Path(args.data)
    out = ["--quiet", "train", "--method", method, "--train", str(data / "redocred" / "dev_revised.json"),
           "--train-split", f"{data / 'redocred' / 'split.json'}:train", "--output", str(output),
           "--encoder", args.encoder, "--epochs", str(args.epochs), "--seed", str(args.seed)]
    if drop:
        out += ["--drop-labels", str(drop)]
    if args.batch_size:
        out += ["--batch-size", str(args.batch_size)]
    if args.max_train_docs:
        out += ["--max-train-docs", str(args.max_train_docs)]
    if args.device:
        out += ["--device", args.device]
    for key, value in options.items():
        out += ["--option", f"{key}={value}"]
    return out


def run_state(run: Run, args: argparse.Namespace, drop: float, expected_hash: str) -> str:
    """"done" (finished with these settings), "resume" (last/ holds an unfinished run), "new" (nothing there);
    SystemExit where the directory holds a run with other settings, which this script will not overwrite."""
    config_path, last = run.directory / "config.json", run.directory / "last"
    source = last / "config.json" if (last / "optimizer.safetensors").is_file() else config_path
    if not source.is_file():
        return "new"
    config = json.loads(source.read_text(encoding="utf-8"))
    method, options = METHODS[run.name]
    tc = config.get("train_config") or {}
    wanted = {"method": config.get("method", "").split(".")[0] == method,
              "encoder": (config.get("encoder") or {}).get("name") == args.encoder,
              "seed": tc.get("seed") == args.seed, "drop_labels": float(tc.get("drop_labels", -1)) == drop,
              "epochs": tc.get("epochs") == args.epochs,
              "batch_size": tc.get("batch_size") == (args.batch_size or TrainConfig().batch_size),
              "training documents (data hash)": config.get("data_hash") == expected_hash,
              **{f"option {k}": (config.get("method_config") or {}).get(k) == v for k, v in options.items()}}
    differ = [k for k, ok in wanted.items() if not ok]
    if differ:
        raise SystemExit(f"{run.directory} holds a run with other settings ({', '.join(differ)} differ); "
                         "use another --runs-dir or remove it")
    if source == config_path:
        if config.get("epoch") == args.epochs and not last.exists():
            return "done"
        raise SystemExit(f"{run.directory}: config.json at epoch {config.get('epoch')} of {args.epochs} and no resumable "
                         "last/; remove it to train again")
    return "resume"


def train(run: Run, threads: int | None) -> None:
    """One training subprocess; its wall time and peak memory are appended to RUN/bench.json."""
    run.directory.mkdir(parents=True, exist_ok=True)
    peak_file = run.directory / ".cuda_peak.json"
    peak_file.unlink(missing_ok=True)
    before = _epoch_of(run.directory)
    env = dict(os.environ)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, "-c", CHILD, str(peak_file), *run.engine_args]
    print(f"[{run.setting}/{run.name}] {'resuming' if before else 'training'}: python -m engine "
          f"{shlex.join(run.engine_args)}", file=sys.stderr, flush=True)
    with open(run.directory / "train.log", "a", encoding="utf-8") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (ru_maxrss in KiB on Linux)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
    cuda = json.loads(peak_file.read_text())["cuda_peak_mb"] if peak_file.is_file() else None
    peak_file.unlink(missing_ok=True)
    record = _bench_record(run.directory)
    record["sessions"].append({"epochs": [before, _epoch_of(run.directory)], "wall_s": wall,
                               "peak_rss_mb": usage.ru_maxrss / 1024, "cuda_peak_mb": cuda, "returncode": proc.returncode,
                               "command": "python -m engine " + shlex.join(run.engine_args)})
    (run.directory / BENCH_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")
    if proc.returncode != 0:
        run.status, run.note = "failed", f"exit {proc.returncode}, see {run.directory / 'train.log'}"
        print(f"[{run.setting}/{run.name}] FAILED ({run.note}):\n" + _tail(run.directory / "train.log"),
              file=sys.stderr, flush=True)
    else:
        run.status = "resumed" if before else "trained"


def _epoch_of(directory: Path) -> int:
    for path in (directory / "last" / "config.json", directory / "config.json"):
        if path.is_file():
            return int(json.loads(path.read_text(encoding="utf-8")).get("epoch", 0))
    return 0


def _bench_record(directory: Path) -> dict:
    path = directory / BENCH_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"sessions": []}


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def cost_figures(run: Run, n_docs: int) -> dict[str, float | None]:
    """Training s/doc from the trainer's per-epoch history; wall time and peak memory from bench.json."""
    config = json.loads((run.directory / "config.json").read_text(encoding="utf-8"))
    history = [h for h in config.get("history", []) if h.get("docs_per_second")]
    sessions = _bench_record(run.directory)["sessions"]  # interrupted ones too: their finished epochs count
    # the wall time is complete only when bench.json saw every epoch from 0
    covered = sum(s["epochs"][1] - s["epochs"][0] for s in sessions) == config.get("epoch")
    cuda = [s["cuda_peak_mb"] for s in sessions if s.get("cuda_peak_mb") is not None]
    return {"epochs": config.get("epoch"), "interrupted": any(s["returncode"] != 0 for s in sessions),
            "train_s_per_doc": sum(1 / h["docs_per_second"] for h in history) / len(history) if history else None,
            "wall_min": sum(s["wall_s"] for s in sessions) / 60 if sessions and covered else None,
            "wall_s_per_doc_epoch": (sum(s["wall_s"] for s in sessions) / (n_docs * config["epoch"])
                                     if sessions and covered else None),
            "peak_rss_mb": max(s["peak_rss_mb"] for s in sessions) if sessions else None,
            "cuda_peak_mb": max(cuda) if cuda else None}


def evaluate_run(run: Run, heldout, train_docs, revisit, device: str | None) -> None:
    """Held-out quality, prediction speed and revisit FN recovery of one checkpoint, in this process."""
    from engine.data.metrics import evaluate
    from engine.serve.predictor import Predictor
    from fn_recovery import at_k, margin_ranking

    predictor = Predictor.from_checkpoint(run.directory, device)
    predictor.predict(heldout[:2])  # warm-up
    start = time.perf_counter()
    scores = predictor.predict(heldout)
    docs_per_s = len(heldout) / (time.perf_counter() - start)
    report = evaluate(heldout, [[(h, t, r) for h, t, r, _ in s.predicted_triples()] for s in scores], train_docs)
    o, g = report.overall, report.groups
    run.quality = {"f1": o.f1, "ign_f1": report.ign_f1, "precision": o.precision, "recall": o.recall,
                   "head": g["head"].f1, "mid": g["mid"].f1, "tail": g["tail"].f1,
                   "rela": report.pair_detection.accuracy}
    run.cost["predict_docs_per_s"] = docs_per_s
    ks = (*FIXED_K, len(revisit.missing))
    ranking = margin_ranking(revisit.documents, predictor.predict(revisit.documents), max(ks))
    run.fn = at_k([key for _, key in ranking], revisit.missing, ks)
    del predictor, scores
    gc.collect()


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _ratio(value: float | None, base: float | None) -> str:
    return "-" if value is None or not base else f"{value / base:.2f}x"


def print_setting(setting: str, drop: float, runs: Sequence[Run], n_train: int, n_heldout: int, revisit) -> None:
    print(f"\n## {setting}: " + (f"{drop:.0%} of the training triples hidden (--drop-labels {drop})" if drop
                                 else "all training triples"))
    print(f"\n{n_train} training documents, {n_heldout} held-out documents. Scores in percent.\n")
    print("| method | F1 | Ign F1 | P | R | head F1 | mid F1 | tail F1 | Rela |")
    print("|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        q = run.quality
        if not q:
            print(f"| {run.name} | {run.status}: {run.note} |" + " |" * 7)
            continue
        print(f"| {run.name} | " + " | ".join(_pct(q[k]) for k in
                                              ("f1", "ign_f1", "precision", "recall", "head", "mid", "tail", "rela")) + " |")
    miss = len(revisit.missing)
    print(f"\nFalse-negative recovery, revisit ({len(revisit.documents)} documents, {miss} missing triples): "
          "each model's margin ranking of the non-gold triples.\n")
    print("| method | " + " | ".join(f"P@{k} | R@{k}" for k in FIXED_K) + f" | P@miss={miss} | R@miss={miss} |")
    print("|---|" + "---|---|" * (len(FIXED_K) + 1))
    for run in runs:
        if run.fn:
            print(f"| {run.name} | " + " | ".join(f"{_pct(p)} | {_pct(r)}" for p, r in run.fn) + " |")
    base = next((r.cost for r in runs if r.name == BASELINE and r.quality), {})
    print(f"\nCost. train s/doc: the trainer's step time per document and epoch; wall: the whole training "
          f"process(es), * where an interrupted process's time is included; peak RSS: of the training process (os.wait4); "
          f"x {BASELINE}: ratio to {BASELINE}; predict docs/s: held-out documents, after a warm-up.\n")
    print(f"| method | epochs | train s/doc | x {BASELINE} | wall s/doc/epoch | wall min | peak RSS MB | x {BASELINE} | "
          "CUDA peak MB | predict docs/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        c = run.cost
        if not run.quality:
            continue
        print(f"| {run.name} | {c.get('epochs')} | {_num(c['train_s_per_doc'], '.3f')} | "
              f"{_ratio(c['train_s_per_doc'], base.get('train_s_per_doc'))} | {_num(c['wall_s_per_doc_epoch'], '.3f')} | "
              f"{_num(c['wall_min'], '.1f')}{' *' if c.get('interrupted') else ''} | {_num(c['peak_rss_mb'], '.0f')} | "
              f"{_ratio(c['peak_rss_mb'], base.get('peak_rss_mb'))} | {_num(c['cuda_peak_mb'], '.0f')} | "
              f"{_num(c['predict_docs_per_s'], '.2f')} |")
    print("\ntraining commands:\n")
    for run in runs:
        print(f"- {run.name} ({run.status}): `python -m engine {shlex.join(run.engine_args)}`")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", default=",".join(METHODS),
                   help=f"comma-separated, from {', '.join(METHODS)} ('p3m' = its three variants); default all")
    p.add_argument("--settings", default="full,half", help="comma-separated: full, half (--drop-labels 0.5)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=TrainConfig().seed)
    p.add_argument("--batch-size", type=int, help=f"default: the engine's ({TrainConfig().batch_size})")
    p.add_argument("--encoder", default=DEFAULT_ENCODER, help="encoder name or local path (smoke runs: a tiny one)")
    p.add_argument("--device", help="cpu, cuda, ... for training and evaluation (default: the engine's choice)")
    p.add_argument("--threads", type=int, help="torch threads here and OMP_NUM_THREADS of the training processes")
    p.add_argument("--runs-dir", default=str(ROOT / "runs" / "bench"), help="checkpoints go to RUNS/<setting>/<method>/")
    p.add_argument("--data", default=str(DATA), help="the shared data directory")
    p.add_argument("--skip-train", action="store_true", help="only evaluate finished checkpoints already there")
    p.add_argument("--max-train-docs", type=int, help="only the first N training documents (smoke runs)")
    p.add_argument("--max-eval-docs", type=int, help="only the first N held-out and revisit documents (smoke runs)")
    p.add_argument("--json", help="also write every figure here as JSON")
    args = p.parse_args(argv)
    names = parse_list(args.methods, list(METHODS), "method", ALIASES)
    settings = parse_list(args.settings, list(SETTINGS), "setting")

    import torch

    from common import redocred_part
    from engine.train.trainer import data_hash
    from fn_recovery import revisit_setting

    if args.threads:
        torch.set_num_threads(args.threads)
    data = Path(args.data)
    train_docs = redocred_part("train", data)[:args.max_train_docs]
    heldout = redocred_part("heldout", data)[:args.max_eval_docs]
    revisit = revisit_setting(data, args.max_eval_docs)
    expected_hash = data_hash(train_docs)

    all_runs: dict[str, list[Run]] = {}
    for setting in settings:  # check every directory before the first hour of training
        drop = SETTINGS[setting]
        all_runs[setting] = []
        for name in names:
            directory = Path(args.runs_dir) / setting / name
            run = Run(setting, name, directory, engine_train_args(args, name, drop, directory))
            state = run_state(run, args, drop, expected_hash)
            run.status = {"done": "done", "resume": "to resume", "new": "to train"}[state]
            if args.skip_train and state != "done":
                run.status, run.note = "missing", "not finished (--skip-train)"
            all_runs[setting].append(run)
    for setting in settings:
        for run in all_runs[setting]:
            if run.status in ("to resume", "to train"):
                train(run, args.threads)
            if run.status in ("done", "resumed", "trained"):
                print(f"[{setting}/{run.name}] evaluating", file=sys.stderr, flush=True)
                run.cost = cost_figures(run, len(train_docs))
                evaluate_run(run, heldout, train_docs, revisit, args.device)

    print("# Methods: held-out quality, false-negative recovery, cost\n")
    print(f"machine: {machine(torch.get_num_threads())}")
    print(f"command: {command_line()}")
    print(f"encoder {args.encoder}, {args.epochs} epochs, seed {args.seed}, batch size "
          f"{args.batch_size or TrainConfig().batch_size}, other training settings the engine's defaults; runs in "
          f"{args.runs_dir}")
    print("compare with (shared/data/README.md): atlop, MiniLM, 30 epochs on the 400 train documents: heldout F1 54-56 "
          "(GPU, bf16); plain ATLOP margin ranking on revisit: R@1117 a little under 1/3")
    for setting in settings:
        print_setting(setting, SETTINGS[setting], all_runs[setting], len(train_docs), len(heldout), revisit)
    if args.json:
        Path(args.json).write_text(json.dumps({s: [{"method": r.name, "status": r.status, "note": r.note,
                                                      "quality": r.quality, "fn_recovery": r.fn, "cost": r.cost,
                                                      "directory": str(r.directory)} for r in runs]
                                               for s, runs in all_runs.items()}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
