"""Choosing the learned review ranker's recipe without looking at the revisit test figure: nested
cross-validation by document.

The revisit figure of bench/fn_recovery.py is a 5-fold CV over the 51 Revisit-DocRED documents. Picking a
recipe by that figure would make it optimistic, so each recipe is first scored on an inner split only: for
every outer fold f (the same folds fn_recovery deals for --cv-seed), the documents of f are removed from
every source, and an inner k-fold CV runs over the other revisit documents (rankers trained by the recipe
on the remaining Revisit pairs and simulated held-out documents). The inner score is P@50, P@200 and
R@miss (K = the number of missing labels of those documents) of each inner out-of-fold ranking, averaged
over the outer folds: no outer-test document is ever ranked or counted. `--outer` then prints, once per
recipe and seed, the plain revisit CV figure fn_recovery reports, with the mean over the seeds.

    python bench/ranker_recipes.py --recipes shipped sim25 ... [--seeds 0 1 2] [--outer] [--no-inner]
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import command_line, machine
from engine.cli.common import select_titles
from engine.cli.score_cache import cached_scores
from engine.cli.scoring import discover_models
from engine.curate.candidate_features import Pool
from engine.curate.ranker import RankerConfig
from engine.curate.ranker_data import TrainingRecipe
from engine.curate.relation_stats import RelationStats
from engine.curate.type_stats import TypeStats
from engine.data.documents import read_documents
from engine.model.twin import measured_in_place
from fn_recovery import Key, Setting, at_k, ranking_keys, revisit_setting
from review_session import RowCache, TrainingSources, cross_validate, deal_folds, subset

INNER_K = (50, 200)
NEG8 = TrainingRecipe(neg_ratio=8.0)  # the shipped recipe before this search: 8 negatives per positive
SINGLE = RankerConfig(n_models=1)  # every recipe below but the bags was measured with one booster


@dataclass(frozen=True)
class Recipe:
    """One candidate recipe: how the rows are made and how the trees are grown."""

    training: TrainingRecipe = TrainingRecipe()
    config: RankerConfig = RankerConfig()


RECIPES: dict[str, Recipe] = {
    "shipped": Recipe(),  # every negative (neg8 until the first search), a bag of 3 since the rule margins
    "single": Recipe(config=SINGLE),  # the shipped recipe before the bag: one booster
    "neg8": Recipe(NEG8, SINGLE),
    "neg4": Recipe(TrainingRecipe(neg_ratio=4.0), SINGLE),
    "neg16": Recipe(TrainingRecipe(neg_ratio=16.0), SINGLE),
    # the rest were searched from neg8 (the shipped recipe then)
    "sim10": Recipe(replace(NEG8, sim_weight=0.1), SINGLE),
    "sim25": Recipe(replace(NEG8, sim_weight=0.25), SINGLE),
    "sim100": Recipe(replace(NEG8, sim_weight=1.0), SINGLE),
    "band6": Recipe(replace(NEG8, pool=Pool(band=6.0, top_k=0)), SINGLE),
    "small_trees": Recipe(NEG8, replace(SINGLE, num_leaves=7, min_child_samples=50, n_estimators=300)),
    "big_leaves": Recipe(NEG8, replace(SINGLE, min_child_samples=60)),
    "slow": Recipe(NEG8, replace(SINGLE, n_estimators=400, learning_rate=0.025)),
    "no_monotone": Recipe(NEG8, replace(SINGLE, monotone=False)),
    "colsample": Recipe(NEG8, replace(SINGLE, feature_fraction=0.5)),
    "lambdarank": Recipe(NEG8, replace(SINGLE, objective="lambdarank")),
    "all_neg_slow": Recipe(config=replace(SINGLE, n_estimators=400, learning_rate=0.025)),
    # searched from "single" (every negative, one booster) for issue 14: variance reduction and regularisation
    "bag3": Recipe(config=RankerConfig(n_models=3)),  # shipped since feature version 2
    "bag5": Recipe(config=RankerConfig(n_models=5)),
    "l2_10": Recipe(config=replace(SINGLE, reg_lambda=10.0)),
    "hess1": Recipe(config=replace(SINGLE, min_sum_hessian=1.0)),
    "pos_w2": Recipe(config=replace(SINGLE, scale_pos_weight=2.0)),
    "pos_w3": Recipe(config=replace(SINGLE, scale_pos_weight=3.0)),
    "pos_w5": Recipe(config=replace(SINGLE, scale_pos_weight=5.0)),
    # from "single" with the rule margins (feature version 2)
    "draws3": Recipe(TrainingRecipe(sim_draws=3), SINGLE),
    "draws5": Recipe(TrainingRecipe(sim_draws=5), SINGLE),
}


@dataclass(frozen=True)
class Context:
    """The revisit setting with everything a cross-validation needs."""

    revisit: Setting
    scores: dict
    sources: TrainingSources
    type_stats: TypeStats
    relation_stats: RelationStats
    cache: RowCache


def scores_at(setting: Setting, ranking: Sequence[Key], ks: Sequence[int]) -> list[float]:
    """P@k for each k, then R@miss, in percent."""
    cells = at_k(ranking, setting.missing, (*ks, len(setting.missing)))
    return [100 * p for p, _ in cells[:-1]] + [100 * cells[-1][1]]


def restrict(ctx: Context, titles: set[str]) -> tuple[Setting, dict]:
    """The revisit setting and scores limited to `titles`, document indices renumbered."""
    rows = [i for i, d in enumerate(ctx.revisit.documents) if d.title in titles]
    new = {old: k for k, old in enumerate(rows)}
    missing = {(new[i], h, t, r) for i, h, t, r in ctx.revisit.missing if i in new}
    return Setting("inner", [ctx.revisit.documents[i] for i in rows], missing), subset(ctx.scores, rows)


def run_cv(ctx: Context, setting: Setting, scores: dict, sources: TrainingSources, recipe: Recipe, k: int,
           seed: int) -> list[Key]:
    cv = cross_validate(setting.documents, scores, sources, k=k, seed=seed, type_stats=ctx.type_stats,
                        relation_stats=ctx.relation_stats, recipe=recipe.training, config=recipe.config,
                        cache=ctx.cache)
    return ranking_keys(cv)


def inner_score(ctx: Context, recipe: Recipe, seed: int, outer_k: int, inner_k: int) -> list[float]:
    """Mean over outer folds of the inner CV's P@50, P@200, R@miss (outer-test documents never used)."""
    fold_of = deal_folds(ctx.revisit.documents, outer_k, seed)
    per_fold = []
    for f in range(outer_k):
        test = {t for t, g in fold_of.items() if g == f}
        setting, scores = restrict(ctx, set(fold_of) - test)
        ranking = run_cv(ctx, setting, scores, ctx.sources.without(test), recipe, inner_k, seed)
        per_fold.append(scores_at(setting, ranking, INNER_K))
    return [statistics.fmean(col) for col in zip(*per_fold)]


def outer_score(ctx: Context, recipe: Recipe, seed: int, k: int) -> list[float]:
    """The revisit CV figure of bench/fn_recovery.py: P@50, P@200, R@1117."""
    return scores_at(ctx.revisit, run_cv(ctx, ctx.revisit, ctx.scores, ctx.sources, recipe, k, seed), INNER_K)


def context(data: Path, checkpoints: Sequence[Path], cache: Path) -> Context:
    """The revisit setting, the training sources and the statistics, as fn_recovery builds them."""
    dev = read_documents(data / "redocred" / "dev_revised.json").documents
    split = data / "redocred" / "split.json"
    train, held = select_titles(dev, f"{split}:train"), select_titles(dev, f"{split}:heldout")

    def scored(docs: Sequence) -> dict:
        return cached_scores(list(checkpoints), docs, cache, None, quiet=True)

    revisit = revisit_setting(data, None)
    scratch = read_documents(data / "revisit" / "scratch_labels.json").documents
    titles = {d.title for d in revisit.documents}
    sim = [d for d in held if d.title not in titles]
    sources = TrainingSources(revisit.documents, scratch, scored(revisit.documents), sim, scored(sim))
    type_stats, relation_stats = TypeStats.from_documents(train), RelationStats.from_documents(train)
    return Context(revisit, scored(revisit.documents), sources, type_stats, relation_stats,
                   RowCache(type_stats, relation_stats))


def report(name: str, what: str, seeds: Sequence[int], run: Callable[[int], list[float]]) -> None:
    """One markdown row per seed and the mean row, printed as they come."""
    rows = []
    for seed in seeds:
        start = time.perf_counter()
        rows.append(run(seed))
        print(f"| {name} | {what} | {seed} | " + " | ".join(f"{v:.1f}" for v in rows[-1])
              + f" | {time.perf_counter() - start:.0f} s |", flush=True)
    if len(rows) > 1:
        print(f"| {name} | {what} | mean | " + " | ".join(f"{statistics.fmean(c):.1f}" for c in zip(*rows))
              + " | |", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipes", nargs="+", default=["shipped"], choices=sorted(RECIPES))
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="CV seeds (fold dealing)")
    p.add_argument("--cv-folds", type=int, default=5)
    p.add_argument("--inner-folds", type=int, default=4)
    p.add_argument("--outer", action="store_true", help="also the revisit CV figure (look once per chosen recipe)")
    p.add_argument("--no-inner", action="store_true", help="skip the inner split")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--scores-cache", default=str(ROOT / "runs" / "score_cache"))
    p.add_argument("--checkpoint", nargs="+", help="checkpoint directories whose scores the ranker reads "
                   "(default: every shipped model; its slots follow)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    # held-out and Revisit documents are scored only by models that never trained on them (engine.model.twin)
    checkpoints = measured_in_place([Path(c) for c in args.checkpoint] if args.checkpoint else discover_models())
    ctx = context(Path(args.data), checkpoints, Path(args.scores_cache))
    print(f"models: {', '.join(c.name for c in checkpoints)}")
    print(f"machine: {machine()}\ncommand: {command_line()}\n")
    print("| recipe | split | seed | P@50 | P@200 | R@miss | time |\n|---|---|---|---|---|---|---|", flush=True)
    for name in args.recipes:
        recipe = RECIPES[name]
        if not args.no_inner:
            report(name, f"inner {args.inner_folds}-fold in each outer fold", args.seeds,
                   lambda s: inner_score(ctx, recipe, s, args.cv_folds, args.inner_folds))
        if args.outer:
            report(name, f"revisit {args.cv_folds}-fold CV", args.seeds,
                   lambda s: outer_score(ctx, recipe, s, args.cv_folds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
