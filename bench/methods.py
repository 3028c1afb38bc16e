"""The methods grid (issue 23): every paper's method continuing the same warm start under the same budget,
each finished run recorded as one JSON in a committed ledger, and the RESULTS table rendered from it.

    python bench/methods.py                  # runs only what the ledger lacks (resumes a killed run), then stops
    python bench/methods.py --commit         # ... and commits each record (and a rebuilt warm start) as it lands
    python bench/methods.py --table          # the table from the committed ledger alone, into bench/RESULTS.md
    python bench/methods.py --dry-run        # what would run, in order

The protocol (warm starts, budget, order) is in bench/grid/plan.py; what a record holds in bench/grid/ledger.py
and bench/grid/measure.py; the table and its paired bootstrap in bench/grid/table.py. Training runs as
`python -m engine train` subprocesses (their commands are in every record), so a kill of this script at any
moment loses at most the epoch in flight: the next call resumes that run from its `last/` state.
Smoke run: python bench/methods.py --encoder TINY --warm-full TINY_ATLOP --max-train-docs 4 --max-eval-docs 3
    --epochs 1 --runs-dir /tmp/grid --ledger /tmp/ledger --settings full --seeds 0
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, machine  # noqa: E402
from grid.ledger import commit, read_ledger, read_record, write_record  # noqa: E402
from grid.plan import (  # noqa: E402
    METHOD_OPTIONS,
    METHODS,
    SEEDS,
    SETTINGS,
    Budget,
    GridRun,
    Paths,
    WarmStartRecipe,
    decision_options,
    plan,
    train_args,
    warm_start_args,
)
from grid.table import missing_cells, render  # noqa: E402

log = logging.getLogger("bench.methods")
LEDGER = ROOT / "bench" / "ledger" / "methods"
# The half setting's warm start: its weights (17 MB int8) stay out of git beside the runs, rebuilt when missing;
# the committed identity (recipe and tensor digest) says whether a rebuild is the very same model.
WARM_HALF = ROOT / "runs" / "grid" / "warm" / "half-atlop-int8"
RESULTS = ROOT / "bench" / "RESULTS.md"
BEGIN, END = "<!-- methods-ledger:begin -->", "<!-- methods-ledger:end -->"
SESSIONS_FILE = "sessions.json"  # per run directory: one entry per training process this script started
# train_config keys that identify a run; a directory holding another run is moved aside, never mixed in
IDENTITY_KEYS = ("epochs", "seed", "lr_encoder", "lr_classifier", "drop_labels", "label_seed", "init_from",
                 "batch_size")
SAVED_DEFAULTS = {"label_seed": -1}  # keys older runs did not write, with the value they meant


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


_DIGESTS: dict[tuple[str, int, int], str] = {}  # (file, mtime_ns, size) -> tensor digest, per process


def warm_digest(weights_dir: Path) -> str:
    """The tensor digest of a warm start (grid.measure.weights_digest), computed once per file version: a
    plan checks every record against it, and reading 17-90 MB of tensors each time would dominate --dry-run."""
    from grid.measure import weights_digest  # noqa: PLC0415 - torch only when a warm start is looked at

    stat = (weights_dir / "model.safetensors").stat()
    key = (str(weights_dir.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _DIGESTS:
        _DIGESTS[key] = weights_digest(weights_dir)
    return _DIGESTS[key]


def is_current(record: dict[str, Any] | None, run: GridRun, paths: Paths) -> bool:
    """A record counts while it continued the setting's warm start as it is now and was decoded with the
    decoding choices recorded now (`continued_current_warm`, `decided_as_now`)."""
    return record is not None and continued_current_warm(record, run, paths) and decided_as_now(record, run, paths)


def continued_current_warm(record: dict[str, Any], run: GridRun, paths: Paths) -> bool:
    """Whether the run continued the setting's warm start as it is now: one that continued another (the shipped
    atlop was re-stored int8 to fit the models' size budget, say) is run again, and said so, so that every cell
    of a setting starts from the same weights. Identity is the tensors' digest, not the file's sha256: a rebuilt
    warm start with the very same tensors has another file (a fresh checkpoint id in its metadata). A record
    older than the digest is compared by file sha256. A warm start not built yet cannot be compared: kept."""
    warm = paths.warm_start(run.setting)
    if not (warm / "model.safetensors").is_file():
        return True
    start = record.get("warm_start", {})
    if start.get("weights_digest") is not None:
        recorded, now = start["weights_digest"], warm_digest(warm)
    else:
        recorded, now = start.get("weights_sha256"), file_digest(warm / "model.safetensors")
    if recorded in (None, now):
        return True
    log.info("%s continued another %s warm start (%s): it is run again", run.key, run.setting, recorded)
    return False


def decided_as_now(record: dict[str, Any], run: GridRun, paths: Paths) -> bool:
    """Whether the record was measured under the decoding choices recorded now (grid.plan.DECISION_CHOICES): a
    choice made again on its inner split re-measures the run (its checkpoint, where this machine still has it;
    otherwise the run trains again, to the same identity)."""
    now = decision_options(run.setting, run.method, paths.root)
    if record.get("decision_options", {}) == now:
        return True
    log.info("%s was decoded with %s, the recorded choice is now %s: it is measured again", run.key,
             record.get("decision_options", {}), now)
    return False


def checkpoint_config(directory: Path) -> dict[str, Any] | None:
    path = directory / "config.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def run_state(directory: Path, expected: dict[str, Any], epochs: int) -> str:
    """"done" (a finished checkpoint of exactly this run), "resume" (an unfinished one to continue) or "new";
    a directory that holds any other run is renamed aside first, with a warning naming what differs."""
    last = directory / "last"
    config = checkpoint_config(last) or checkpoint_config(directory)
    if config is None:
        return "new"
    from engine.config import TrainConfig  # noqa: PLC0415

    saved = {**SAVED_DEFAULTS, **TrainConfig.with_new_names(config.get("train_config") or {}),
             **{f"option {k}": v for k, v in (config.get("method_config") or {}).items()}}
    differ = [k for k in (*IDENTITY_KEYS, *(k for k in expected if k.startswith("option ")))
              if saved.get(k) != expected.get(k)]
    if differ:
        aside = directory.with_name(f"{directory.name}.stale-{int(time.time())}")
        log.warning("%s holds another run (%s differ): moved to %s", directory,
                    ", ".join(f"{k}: {saved.get(k)!r} != {expected.get(k)!r}" for k in differ), aside)
        directory.rename(aside)
        return "new"
    if last.exists():
        return "resume"
    return "done" if config.get("epoch") == epochs else "new"


def expected_identity(run: GridRun, budget: Budget, paths: Paths) -> dict[str, Any]:
    """The train_config values a finished or resumable directory of this run must hold."""
    from engine.config import TrainConfig  # noqa: PLC0415

    args = train_args(run, budget, paths, encoder="")
    return {"epochs": budget.epochs, "seed": run.seed, "lr_encoder": budget.lr_encoder,
            "lr_classifier": budget.classifier_rate(run.method), "drop_labels": run.drop_labels,
            "label_seed": int(_flag(args, "--label-seed") or -1), "init_from": _flag(args, "--init-from"),
            "batch_size": TrainConfig().batch_size,
            **{f"option {k}": v for k, v in METHOD_OPTIONS.get((run.setting, run.method), {}).items()}}


def train(command: list[str], directory: Path, name: str) -> None:
    """One `python -m engine` process; its wall time, CPU time and peak memory (os.wait4: this child's own
    rusage) are appended to DIRECTORY/sessions.json. The CPU time is the cost that other work on the machine
    cannot inflate: a process paused (SIGSTOP) or waiting for cores adds wall time, not CPU time. SystemExit
    when it fails, naming its log."""
    directory.mkdir(parents=True, exist_ok=True)
    before = _epoch_of(directory)
    log.info("[%s] %s: python -m engine %s", name, "resuming" if before else "training", shlex.join(command))
    sessions = _sessions(directory)
    # written before the process starts, so a process killed with this script still counts (without a time)
    sessions.append({"epochs": [before, None], "wall_s": None, "cpu_s": None, "peak_rss_mb": None, "returncode": None,
                     "git_commit": _head_commit()})
    _write_sessions(directory, sessions)
    with open(directory / "train.log", "a", encoding="utf-8") as out:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "engine", *command], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    sessions[-1].update(epochs=[before, _epoch_of(directory)], wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime,
                        peak_rss_mb=usage.ru_maxrss / 1024, returncode=code)
    _write_sessions(directory, sessions)
    if code != 0:
        tail = "\n".join((directory / "train.log").read_text(encoding="utf-8", errors="replace").splitlines()[-12:])
        raise SystemExit(f"[{name}] training failed (exit {code}); log {directory / 'train.log'}:\n{tail}")


def _epoch_of(directory: Path) -> int:
    config = checkpoint_config(directory / "last") or checkpoint_config(directory) or {}
    return int(config.get("epoch", 0))


def _head_commit() -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()


def _write_sessions(directory: Path, sessions: list[dict[str, Any]]) -> None:
    (directory / SESSIONS_FILE).write_text(json.dumps(sessions, indent=1), encoding="utf-8")


def _sessions(directory: Path) -> list[dict[str, Any]]:
    path = directory / SESSIONS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def _flag(command: Sequence[str], name: str) -> str | None:
    return command[command.index(name) + 1] if name in command[:-1] else None


def provenance(directory: Path, command: list[str]) -> dict[str, Any]:
    """How and where the run ran: differs between sessions, so kept apart from the result."""
    import torch  # noqa: PLC0415

    from engine.serve.numeric_precision import resolve_training_precision  # noqa: PLC0415

    config = checkpoint_config(directory) or {}
    history = [h for h in config.get("history", []) if h.get("docs_per_second")]
    sessions = _sessions(directory)
    timed = [s for s in sessions if s["wall_s"] is not None]
    # the wall time is whole when timed processes trained every epoch (a killed one's epochs are redone)
    covered = sum(s["epochs"][1] - s["epochs"][0] for s in timed) == config.get("epoch")
    return {"git_commit": _head_commit(),  # where it was measured; trained_at: where each training process started
            "trained_at": sorted({s["git_commit"] for s in sessions if s.get("git_commit")}),
            "machine": re.sub(r"^[^:]*: ", "", machine()),
            "training_precision": resolve_training_precision(_flag(command, "--precision") or "auto",
                                                             torch.device(_flag(command, "--device") or "cpu")),
            "train_s_per_doc": (sum(1 / h["docs_per_second"] for h in history) / len(history)) if history else None,
            "wall_s": sum(s["wall_s"] for s in timed) if timed and covered else None,
            # user + system seconds of the training processes (sessions before 2026-12-07 did not record it)
            "cpu_s": sum(s["cpu_s"] for s in timed) if timed and covered and all(s.get("cpu_s") for s in timed)
            else None,
            "peak_rss_mb": max(s["peak_rss_mb"] for s in timed) if timed else None,
            "training_processes": len(sessions), "finished": time.strftime("%Y-%m-%d %H:%M"),
            # other work on the machine slows training: the 15-minute load average when the run was measured
            "load_average_15min": round(os.getloadavg()[2], 2),
            "command": "python -m engine " + shlex.join(command)}


def ensure_warm_half(paths: Paths, recipe: WarmStartRecipe, do_commit: bool) -> None:
    """Build the half setting's warm start when it is missing and hold it against its committed identity. A
    missing one is first restored from the git history its identity names (`restore_from`: the very tensors
    the ledger's half runs continued); only without that is it trained again (resumable, then compressed to
    int8). The first build writes the identity (and commits it with --commit); a rebuild whose tensors differ
    (another CPU's bf16, say) is named in a warning, since runs continuing it are then not comparable with the
    ledger's earlier half runs, and those runs are run again (`continued_current_warm`)."""
    identity = paths.ledger.parent / "warm" / "half-atlop.json"  # beside the ledger: bench/ledger/warm/
    if not (paths.warm_half / "model.safetensors").is_file() and identity.is_file():
        restore_from_history(json.loads(identity.read_text(encoding="utf-8")), paths.warm_half, paths.root)
    if not (paths.warm_half / "model.safetensors").is_file():
        scratch = paths.runs / "warm" / "half-atlop"
        command = warm_start_args(recipe, paths, scratch)
        if _epoch_of(scratch) != recipe.epochs or (scratch / "last").exists():
            train(command, scratch, "warm start half-atlop")
        log.info("compressing the half warm start into %s", paths.warm_half)
        subprocess.run([sys.executable, "-m", "engine", "--quiet", "compress", "--checkpoint", str(scratch),
                        "--output", str(paths.warm_half), "--save-dtype", "int8"], cwd=ROOT, check=True)
        (paths.warm_half / "BUILT_BY.txt").write_text("python -m engine " + shlex.join(command) + "\n",
                                                      encoding="utf-8")
    from grid.measure import weights_digest  # noqa: PLC0415 - torch only when a warm start is looked at

    digest = weights_digest(paths.warm_half)
    if identity.is_file():
        recorded = json.loads(identity.read_text(encoding="utf-8"))["weights_digest"]
        if recorded != digest:
            log.warning("the half warm start in %s (weights %s) is not the one the ledger's half runs continued "
                        "(%s, %s): its runs are comparable only among themselves", paths.warm_half, digest,
                        recorded, identity)
        return
    identity.parent.mkdir(parents=True, exist_ok=True)
    identity.write_text(json.dumps({
        "weights_digest": digest, "recipe": (paths.warm_half / "BUILT_BY.txt").read_text(encoding="utf-8").strip(),
        "machine": machine()}, indent=1) + "\n", encoding="utf-8")
    if do_commit:
        commit([identity], "methods grid: the half setting's warm start identity (atlop on half labels, int8)", ROOT)


def restore_from_history(identity: dict[str, Any], into: Path, root: Path) -> bool:
    """Write the warm start's files from the commit its identity names ({"restore_from": {"commit", "path",
    "files"}}) into INTO, and keep them only if their tensors have the recorded digest. False (and INTO left
    without weights) when the identity names no commit, this clone lacks it, or the tensors differ."""
    from engine.model.history import restore_files  # noqa: PLC0415

    source = identity.get("restore_from")
    if not source or not restore_files(root, source, into):
        return False
    from grid.measure import weights_digest  # noqa: PLC0415 - torch only when a warm start is looked at

    digest = weights_digest(into)
    if digest != identity["weights_digest"]:
        log.warning("the half warm start restored from %s has weights %s, not the recorded %s: it is trained again",
                    source["commit"], digest, identity["weights_digest"])
        shutil.rmtree(into)
        return False
    log.info("the half warm start restored from commit %s into %s (weights %s)", source["commit"], into, digest)
    return True


def do_run(run: GridRun, budget: Budget, paths: Paths, data, do_commit: bool, device: str | None) -> dict[str, Any]:
    """Train (or resume) one run, measure it, write (and commit) its record."""
    from engine.model.checkpoint import update_checkpoint_config  # noqa: PLC0415
    from grid.measure import measure_checkpoint  # noqa: PLC0415

    warm = paths.warm_start(run.setting)
    warm_config = checkpoint_config(warm)
    if warm_config is None:
        raise SystemExit(f"{warm}: no checkpoint there to warm-start the {run.setting} setting from")
    command = train_args(run, budget, paths, encoder=warm_config["encoder"]["name"])
    directory = paths.run_dir(run)
    if run_state(directory, expected_identity(run, budget, paths), budget.epochs) != "done":
        train(command, directory, run.key)
    log.info("[%s] measuring", run.key)
    decision = decision_options(run.setting, run.method, paths.root)
    if decision:  # inference-only choices made on an inner split (grid.plan.DECISION_CHOICES)
        update_checkpoint_config(directory, method_config={**checkpoint_config(directory)["method_config"], **decision})
    config = checkpoint_config(directory) or {}
    record = {"key": run.key, "setting": run.setting, "method": run.method, "seed": run.seed,
              "method_version": config.get("method"), "method_config": config.get("method_config"),
              "decision_options": decision,
              "budget": {**asdict(budget), "train_documents": None}, "data_hash": config.get("data_hash"),
              "warm_start": {"path": str(warm.resolve().relative_to(ROOT)) if warm.resolve().is_relative_to(ROOT)
                             else str(warm), "weights_sha256": file_digest(warm / "model.safetensors"),
                             "weights_digest": warm_digest(warm)},
              "result": measure_checkpoint(directory, data, device),
              "provenance": provenance(directory, command)}
    record["budget"]["train_documents"] = len(data.train)
    record["budget"]["document_steps"] = len(data.train) * budget.epochs
    path = paths.record(run)
    write_record(path, record)
    log.info("[%s] F1 %.1f, revisit R@miss %.1f -> %s", run.key, 100 * record["result"]["heldout"]["f1"],
             100 * record["result"]["revisit"]["r@missing"], path)
    if do_commit:  # the record and the RESULTS table rendered from the ledger it completes, in one commit
        write_table(paths.ledger, RESULTS)
        commit([path, RESULTS], f"ledger: {run.key} (held-out F1 {100 * record['result']['heldout']['f1']:.1f})", ROOT)
    return record


def write_table(ledger: Path, results: Path) -> str:
    """Render the ledger's table and put it between the markers in RESULTS (appended under a heading when absent)."""
    block = render(read_ledger(ledger))
    text = results.read_text(encoding="utf-8") if results.is_file() else ""
    section = f"{BEGIN}\n{block}{END}"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        heading = "## Methods grid (`bench/methods.py`, ledger `bench/ledger/methods/`)"
        text = text.rstrip() + f"\n\n{heading}\n\n" + section + "\n"
    results.write_text(text, encoding="utf-8")
    return block


def parse_list(text: str, known: Sequence[str], what: str) -> list[str]:
    items = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in items if s not in known]
    if unknown:
        raise SystemExit(f"unknown {what} {', '.join(unknown)}; known: {', '.join(known)}")
    return items


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, from {', '.join(METHODS)}")
    p.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated: full, half")
    p.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="comma-separated run seeds")
    p.add_argument("--table", action="store_true", help="only render the table from the ledger into --results")
    p.add_argument("--dry-run", action="store_true", help="list the missing runs in order and stop")
    p.add_argument("--commit", action="store_true",
                   help="git-commit each record (and a rebuilt warm start) as it lands")
    p.add_argument("--limit", type=int, help="stop after this many runs")
    p.add_argument("--ledger", default=str(LEDGER))
    p.add_argument("--results", default=str(RESULTS), help="the Markdown file whose ledger block --table rewrites")
    p.add_argument("--runs-dir", default=str(ROOT / "runs" / "grid"), help="checkpoints and resume state")
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--warm-full", default=str(ROOT / "assets" / "models" / "atlop"))
    p.add_argument("--warm-half", default=str(WARM_HALF))
    p.add_argument("--encoder", default="", help="encoder of a warm start built from scratch (smoke runs: a tiny one)")
    p.add_argument("--device", help="cpu, cuda, ... for training and scoring")
    p.add_argument("--precision", help="training autocast (default: the engine's auto; tests: float32)")
    p.add_argument("--epochs", type=int, default=Budget().epochs, help="the budget (changing it starts another grid)")
    p.add_argument("--warm-epochs", type=int, default=WarmStartRecipe().epochs)
    p.add_argument("--max-train-docs", type=int, help="smoke runs and tests only")
    p.add_argument("--max-eval-docs", type=int, help="smoke runs and tests only")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    ledger = Path(args.ledger)
    if args.table:
        print(write_table(ledger, Path(args.results)), end="")
        return 0
    settings = parse_list(args.settings, list(SETTINGS), "setting")
    methods = parse_list(args.methods, list(METHODS), "method")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    budget = Budget(epochs=args.epochs, max_train_docs=args.max_train_docs)
    recipe = WarmStartRecipe(epochs=args.warm_epochs, max_train_docs=args.max_train_docs)
    paths = Paths(root=ROOT, data=Path(args.data), runs=Path(args.runs_dir), ledger=ledger,
                  warm_full=Path(args.warm_full), warm_half=Path(args.warm_half), encoder=args.encoder,
                  extra_train_args=(*(("--device", args.device) if args.device else ()),
                                    *(("--precision", args.precision) if args.precision else ())))
    todo = [run for run in plan(settings, methods, seeds) if not is_current(read_record(paths.record(run)), run, paths)]
    if not todo:
        print(f"nothing missing: the ledger {ledger} holds every requested run "
              f"({len(settings)} settings x {len(methods)} methods x {len(seeds)} seeds)")
        return 0
    if args.dry_run:
        print("\n".join(f"{run.key}: {paths.run_dir(run)}" for run in todo))
        return 0
    data = load_evaluation_data(Path(args.data), args.max_train_docs, args.max_eval_docs)
    for n, run in enumerate(todo[:args.limit] if args.limit else todo, 1):
        log.info("run %d of %d missing: %s", n, len(todo), run.key)
        if run.setting == "half":
            ensure_warm_half(paths, recipe, args.commit)
        directory = paths.run_dir(run)
        old = read_record(paths.record(run))
        if old is not None and not continued_current_warm(old, run, paths) and directory.exists():
            directory.rename(directory.with_name(f"{directory.name}.stale-{int(time.time())}"))
        do_run(run, budget, paths, data, args.commit, args.device)
    remaining = missing_cells(read_ledger(ledger), settings, methods, len(seeds))
    print("grid complete" if not remaining else f"cells still short of {len(seeds)} seeds: {', '.join(remaining)}")
    return 0


def load_evaluation_data(data: Path, max_train_docs: int | None, max_eval_docs: int | None):
    from common import redocred_part  # noqa: PLC0415
    from fn_recovery import revisit_setting  # noqa: PLC0415
    from grid.measure import EvaluationData  # noqa: PLC0415

    return EvaluationData(heldout=redocred_part("heldout", data)[:max_eval_docs],
                          train=redocred_part("train", data)[:max_train_docs],
                          revisit=revisit_setting(data, max_eval_docs))


if __name__ == "__main__":
    sys.exit(main())
