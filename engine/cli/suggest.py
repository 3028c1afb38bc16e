"""`python -m engine suggest` (ranked suspected missing labels) and `python -m engine folds` (out-of-fold splits).

Hooked into engine.cli.main's parser by `add_suggest_command(sub)`; torch is imported only when models run."""
from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.cli.common import check_output_file, load_docs, progress_bar
from engine.cli.scoring import discover_models, model_names, score_documents  # noqa: F401 - re-exported
from engine.data.documents import Document
from engine.errors import InputFileError
from engine.data.pair_scores import PairScores
from engine.cli.score_cache import cached_scores
from engine.curate.decisions import read_decisions
from engine.curate.feedback import learn_from_decisions
from engine.curate.ranker import DEFAULT_RANKER, Ranker
from engine.curate.suggestions import default_ranker, default_relation_stats, folds_to_split, out_of_fold_folds, suggest
from engine.curate.yield_estimates import estimate_queue
from engine.curate.type_stats import DEFAULT_TYPE_STATS, TypeStats, load_default_type_stats

log = logging.getLogger(__name__)


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
        log.info("fold %d: %s scored %d documents", i, path, len(idx))
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


def cmd_suggest(args: argparse.Namespace) -> int:

    if (args.band is not None and args.band < 0) or (args.limit is not None and args.limit < 1):
        raise InputFileError(f"--band must be >= 0 and --limit >= 1 (got band {args.band}, limit {args.limit})")
    check_output_file(args.output)
    checkpoints = [Path(p) for p in args.checkpoint] if args.checkpoint else discover_models()
    docs = [d for d in load_docs(args.input, args.split) if d.has_labels]
    if not docs:
        raise InputFileError(f"{args.input}: no document has labels; suggestions are triples missing from gold labels")
    type_stats = load_type_stats(args)
    ranker = load_ranker(args)
    decisions = read_decisions(args.feedback) if args.feedback else []
    quiet, allow = getattr(args, "quiet", False), getattr(args, "allow_download", None)
    if args.folds:
        scores = score_out_of_fold(checkpoints, docs, args.folds, args.device, quiet, allow)
    elif args.scores_cache:
        scores = cached_scores(checkpoints, docs, Path(args.scores_cache), args.device, quiet)
    else:
        scores = score_documents(checkpoints, docs, args.device, quiet, allow)
    relation_stats = default_relation_stats()
    if decisions and ranker is not None:
        start = time.perf_counter()
        ranker = learn_from_decisions(docs, scores, decisions, ranker=ranker, type_stats=type_stats,
                                      relation_stats=relation_stats)
        log.info("ranker refitted with %d decisions (%d accepted) in %.1f s", ranker.info.get("decisions", 0),
                 ranker.info.get("accepted", 0), time.perf_counter() - start)
        if args.save_ranker:
            ranker.save(args.save_ranker)
    elif decisions:
        log.warning("--feedback without a ranker: decided triples are left out, but the formula does not learn")
    ranked = suggest(docs, scores, type_stats=type_stats, band=args.band, limit=args.limit, ranker=ranker,
                     decisions=decisions, relation_stats=relation_stats)
    Path(args.output).write_text(json.dumps([s.to_json() for s in ranked], indent=1, ensure_ascii=False),
                                 encoding="utf-8")
    log.info("%d suggestions from %d documents and %d models (%s) -> %s", len(ranked), len(docs), len(scores),
             "learned ranker" if ranker is not None else "formula", args.output)
    if ranker is not None:
        est = estimate_queue(np.array([s.ranking_score for s in ranked]))
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
    p.add_argument("--ranker", help=f"a ranker directory from `train-ranker` (default: {DEFAULT_RANKER.name}/ in assets)")
    p.add_argument("--no-ranker", action="store_true", help="rank by the hand-weighted formula instead")
    p.add_argument("--feedback", help="JSON list of decisions {title, h_idx, t_idx, r, decision: accept|reject}: the "
                                      "ranker refits on them and decided triples are never suggested again")
    p.add_argument("--save-ranker", help="with --feedback: save the refitted ranker to this directory")
    p.add_argument("--scores-cache", help="directory caching the models' scores per document (made when absent), "
                                          "so a re-run with new --feedback does not rescore")
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: DOCRE_DEVICE, else CUDA when present)")
    p.set_defaults(func=cmd_suggest)

    p = subparsers.add_parser("folds", help="k out-of-fold splits of a training set, for `suggest --folds`")
    p.add_argument("--input", required=True, help="DocRED JSON whose titles are split")
    p.add_argument("--split", help="FILE.json:PART keeps only the titles listed there")
    p.add_argument("--k", type=int, default=5, help="number of folds (default 5)")
    p.add_argument("--seed", type=int, default=13, help="shuffling seed (default 13)")
    p.add_argument("--output", required=True, help="split file with parts train_i and heldout_i")
    p.set_defaults(func=cmd_folds)
