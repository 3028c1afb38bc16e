"""`python -m engine suggest` (ranked suspected missing labels) and `python -m engine folds` (out-of-fold splits).

`suggest` reads its input as a stream, window by window (engine.cli.corpus_run): each window's scores become
keyed suggestions (engine.curate.suggestions.keyed_suggestions), kept one line per document in a hidden part
beside the output, and the parts merge by key into the one ranking over the corpus, so only the suggestions,
not every pair's scores, grow with the corpus; under `accelerate launch` each process does every N-th window.
Hooked into engine.cli.main's parser by `add_suggest_command(sub)`; torch is imported only when models run."""
from __future__ import annotations

import argparse
import heapq
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from engine.cli.common import check_output_file, load_docs, stream_documents
from engine.cli.corpus_run import check_window, part_path, remove_parts, score_corpus
from engine.cli.score_cache import cached_scores
from engine.cli.scoring import discover_models, model_names, score_documents  # noqa: F401 - re-exported
from engine.curate.decisions import Decision, read_decisions
from engine.curate.feedback import learn_from_decisions
from engine.curate.ranker import DEFAULT_RANKER, Ranker
from engine.curate.suggestions import (
    default_ranker,
    default_relation_stats,
    folds_to_split,
    keyed_suggestions,
    out_of_fold_folds,
)
from engine.curate.type_stats import DEFAULT_TYPE_STATS, TypeStats, load_default_type_stats
from engine.curate.yield_estimates import estimate_queue
from engine.data.documents import Document
from engine.data.pair_scores import PairScores
from engine.errors import InputFileError
from engine.serve.native_memory import bound_kernel_caches
from engine.serve.shards import current_shard

log = logging.getLogger(__name__)
SUGGEST_WINDOW = 1024


def score_out_of_fold(checkpoints: Sequence[Path], docs: Sequence[Document], folds_file: str, device: str | None,
                      quiet: bool, allow_download: bool | None = None) -> dict[str, list[PairScores | None]]:
    """Checkpoint i scores the documents of part heldout_i of the folds file; together they are model "oof"."""
    try:
        split = json.loads(Path(folds_file).read_text(encoding="utf-8"))
        parts = [set(split[f"heldout_{i}"]) for i in range(int(split["k"]))]
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputFileError(f"{folds_file}: not a folds file from `python -m engine folds` ({exc})") from None
    if len(parts) != len(checkpoints):
        raise InputFileError(f"{folds_file} has {len(parts)} folds but {len(checkpoints)} checkpoints were given; "
                             "pass one --checkpoint per fold, in fold order")
    scores: list[PairScores | None] = [None] * len(docs)
    for i, (path, titles) in enumerate(zip(checkpoints, parts)):
        idx = [j for j, d in enumerate(docs) if d.title in titles]
        if idx:
            scored = score_documents([path], [docs[j] for j in idx], device, quiet, allow_download).popitem()[1]
            for j, s in zip(idx, scored):
                scores[j] = s
        log.debug("fold %d: %s scored %d documents", i, path, len(idx))
    unscored = sum(s is None for s in scores)
    if unscored:
        log.warning("%d documents are in no heldout part of %s and get no suggestions", unscored, folds_file)
    return {"oof": scores}


def load_type_stats(args: argparse.Namespace) -> TypeStats | None:
    """--train data, else --type-stats, else the shipped statistics; None (the type rule is neutral) without any."""

    if args.no_type_stats:
        return None
    if args.train:
        return TypeStats.from_documents(load_docs(args.train, args.train_split), source=args.train)
    if args.type_stats:
        return TypeStats.load(args.type_stats)
    stats, problem = load_default_type_stats()
    if problem:
        log.warning("%s", problem)
    return stats


def load_ranker(args: argparse.Namespace) -> Ranker | None:
    """--ranker DIR, else the shipped ranker (None, the formula, when it is absent or --no-ranker is given)."""
    if args.no_ranker:
        return None
    return Ranker.load(args.ranker) if args.ranker else default_ranker()


def window_scorer(args: argparse.Namespace, checkpoints: Sequence[Path],
                  device: str | None) -> Callable[[list[Document]], dict[str, list[PairScores | None]]]:
    """How one window of documents gets every model's scores: out of fold, through the cache, or directly.
    Each call loads the models one after the other, so one model is in memory at a time (a load is about a
    second, against minutes to score a window of SUGGEST_WINDOW documents on CPU)."""
    allow = getattr(args, "allow_download", None)
    if args.folds:
        return lambda docs: score_out_of_fold(checkpoints, docs, args.folds, device, True, allow)
    if args.scores_cache:
        return lambda docs: cached_scores(checkpoints, docs, Path(args.scores_cache), device, True)
    return lambda docs: score_documents(checkpoints, docs, device, True, allow)


def refit_ranker(args: argparse.Namespace, ranker: Ranker, decisions: Sequence[Decision], score, type_stats,
                 relation_stats, save: bool) -> Ranker:
    """The ranker refitted on the decisions; only the decided documents are scored for it (a refit reads no
    other), in a first pass over the input."""
    titles = {d.title for d in decisions}
    docs = [d for d in stream_documents(args.input, args.split, labelled_only=True) if d.title in titles]
    start = time.perf_counter()
    ranker = learn_from_decisions(docs, score(docs) if docs else {}, decisions, ranker=ranker, type_stats=type_stats,
                                  relation_stats=relation_stats)
    log.info("ranker refitted with %d decisions (%d accepted) in %.1f s", ranker.info.get("decisions", 0),
             ranker.info.get("accepted", 0), time.perf_counter() - start)
    if save and args.save_ranker:
        ranker.save(args.save_ranker)
    return ranker


def merged_suggestions(output: Path, world: int, limit: int | None) -> list[dict]:
    """Every process's keyed suggestions, best first (the `limit` best), as JSON objects."""
    def rows() -> Iterator[list]:
        for rank in range(world):
            with part_path(output, rank, world).open(encoding="utf-8") as fh:
                for line in fh:
                    yield from json.loads(line)["suggestions"]

    best = heapq.nsmallest(limit, rows(), key=lambda row: row[0]) if limit else sorted(rows(), key=lambda row: row[0])
    return [row[1] for row in best]


def cmd_suggest(args: argparse.Namespace) -> int:

    if (args.band is not None and args.band < 0) or (args.limit is not None and args.limit < 1):
        raise InputFileError(f"--band must be >= 0 and --limit >= 1 (got band {args.band}, limit {args.limit})")
    check_output_file(args.output)
    check_window(args.window)
    bound_kernel_caches()  # before the first matmul: memory flat over a corpus (engine.serve.native_memory)
    shard = current_shard()
    checkpoints = [Path(p) for p in args.checkpoint] if args.checkpoint else discover_models()
    type_stats = load_type_stats(args)
    ranker = load_ranker(args)
    decisions = read_decisions(args.feedback) if args.feedback else []
    score = window_scorer(args, checkpoints, shard.device(args.device))
    relation_stats = default_relation_stats()
    if decisions and ranker is not None:
        ranker = refit_ranker(args, ranker, decisions, score, type_stats, relation_stats, shard.is_main)
    elif decisions:
        log.warning("--feedback without a ranker: decided triples are left out, but the formula does not learn")
    n_models = 0

    def suggest_window(idx: list[int], docs: list[Document]) -> list[list[str]]:
        nonlocal n_models
        scores = score(docs)
        n_models = len(scores)
        keyed = keyed_suggestions(docs, scores, indices=idx, type_stats=type_stats, band=args.band, limit=args.limit,
                                  ranker=ranker, decisions=decisions, relation_stats=relation_stats)
        per_doc: dict[int, list] = {i: [] for i in idx}
        for key, sugg in keyed:
            per_doc[key[2]].append([list(key), sugg.to_json()])  # key[2]: the document's index in the input
        return [[json.dumps({"title": d.title, "suggestions": per_doc[i]}, ensure_ascii=False)
                 for i, d in zip(idx, docs)]]

    output = Path(args.output)
    documents = stream_documents(args.input, args.split, labelled_only=True)
    if not score_corpus(documents, shard, [part_path(output, shard.rank, shard.world)], suggest_window,
                        window=args.window, resume=args.resume, quiet=getattr(args, "quiet", False)):
        return 0
    ranked = merged_suggestions(output, shard.world, args.limit)
    output.write_text(json.dumps(ranked, indent=1, ensure_ascii=False), encoding="utf-8")
    remove_parts(output, shard.world)
    log.info("%d suggestions from %d models (%s) -> %s", len(ranked), n_models or len(checkpoints),
             "learned ranker" if ranker is not None else "formula", args.output)
    if ranker is not None:
        est = estimate_queue(np.array([s["score"] for s in ranked]))
        log.info("expected missing labels among these suggestions: %.1f; %s", est.expected_missing, est.reason)
    return 0


def cmd_folds(args: argparse.Namespace) -> int:

    check_output_file(args.output)
    titles = [d.title for d in load_docs(args.input, args.split)]
    split = folds_to_split(out_of_fold_folds(titles, args.k, args.seed), args.seed)
    Path(args.output).write_text(json.dumps(split, indent=1, ensure_ascii=False), encoding="utf-8")
    log.info("%d folds over %d titles -> %s (train with --train-split %s:train_0 ...)", args.k, len(set(titles)),
             args.output, args.output)
    return 0


def add_suggest_command(subparsers: argparse._SubParsersAction) -> None:
    """Add `suggest` and `folds` to the engine's subcommands."""
    p = subparsers.add_parser("suggest", help="rank triples missing from gold labels that the models believe")
    p.add_argument("--input", required=True, help="DocRED JSON with labels (documents without labels are skipped)")
    p.add_argument("--output", required=True, help="ranked suggestions, best first, as JSON")
    p.add_argument("--checkpoint", nargs="+", action="extend",
                   help="one or more checkpoint directories (default: every model under the shipped models directory)")
    p.add_argument("--split", help="FILE.json:PART keeps only the titles listed there")
    p.add_argument("--band", type=float,
                   help="also suggest triples whose margin is at most this far below the threshold "
                        "(default: the ranker's pool, 5.0 for the shipped one; 1.0 with the formula)")
    p.add_argument("--limit", type=int, help="keep only the N best suggestions")
    p.add_argument("--folds", help="folds file from `folds`: checkpoint i scores only the documents of heldout_i")
    p.add_argument("--train", help="training DocRED JSON whose entity types per relation decide type fit")
    p.add_argument("--train-split", help="FILE.json:PART for --train")
    p.add_argument("--type-stats", help=f"type statistics JSON (default: {DEFAULT_TYPE_STATS.name} shipped in assets)")
    p.add_argument("--no-type-stats", action="store_true", help="ignore entity types")
    p.add_argument("--ranker",
                   help=f"a ranker directory from `train-ranker` (default: {DEFAULT_RANKER.name}/ in assets)")
    p.add_argument("--no-ranker", action="store_true", help="rank by the hand-weighted formula instead")
    p.add_argument("--feedback", help="JSON list of decisions {title, h_idx, t_idx, r, decision: accept|reject}: the "
                                      "ranker refits on them and decided triples are never suggested again")
    p.add_argument("--save-ranker", help="with --feedback: save the refitted ranker to this directory")
    p.add_argument("--scores-cache", help="directory caching the models' scores per document (made when absent), "
                                          "so a re-run with new --feedback does not rescore")
    p.add_argument("--window", type=int, default=SUGGEST_WINDOW,
                   help=f"documents read and scored at a time (default {SUGGEST_WINDOW}): memory follows the window, "
                        "not the corpus; each window keeps its --limit best")
    p.add_argument("--resume", action="store_true",
                   help="keep the windows an interrupted run already scored (same input and options) and do the rest")
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: DOCRE_DEVICE, else CUDA when present)")
    p.set_defaults(func=cmd_suggest)

    p = subparsers.add_parser("folds", help="k out-of-fold splits of a training set, for `suggest --folds`")
    p.add_argument("--input", required=True, help="DocRED JSON whose titles are split")
    p.add_argument("--split", help="FILE.json:PART keeps only the titles listed there")
    p.add_argument("--k", type=int, default=5, help="number of folds (default 5)")
    p.add_argument("--seed", type=int, default=13, help="shuffling seed (default 13)")
    p.add_argument("--output", required=True, help="split file with parts train_i and heldout_i")
    p.set_defaults(func=cmd_folds)
