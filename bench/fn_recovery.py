"""False-negative recovery: how many truly missing labels come out on top of the review ranking.

Two settings, both on documents no shipped model trained on:
- revisit: the 51 Revisit-DocRED documents with their original DocRED labels (incomplete); missing = the
  triples only the from-scratch re-annotation holds (1,117).
- heldout-half: the 100 held-out Re-DocRED documents (split.json "heldout", dev_revised.json) with a seeded
  half of each document's triples hidden; missing = the hidden half.

Rankings, each scored by precision and recall of the missing triples at K = 50, 100, 200, 500 and K = the
number missing ("miss"; P@K divides by the number ranked when the list is shorter, the "list" column):
- each model's plain margin ranking (every non-gold triple, highest margin first);
- the hand-weighted formula of `engine.curate.suggestions` (agreement, type fit from the 400 train
  documents, relation logic), its band widened where needed so that it ranks at least max(K) triples;
- the learned ranker (engine.curate.ranker), cross-validated by document: 5 folds over the setting's titles,
  the ranker of each fold trained by the shipped recipe on the Revisit pairs and simulated held-out
  documents whose titles are not in that fold (bench/review_session.py).
Also: how much of the missing labels each candidate pool covers (which is how the shipped pool was
picked), calibration of the cross-validated probabilities, a simulated review session (truthful
annotator, budget = number missing, queue re-ordered every 25 answers: without refits, with label updates
only, with refits), its found-per-100 curves as a PNG, and ranking / refit times. The figure to compare
with (shared/data/README.md): a plain ATLOP margin ranking recovers a little under a third of the revisit
missing triples at K = 1,117. Prints markdown tables; writes only the PNG.

    python bench/fn_recovery.py [--checkpoint DIR ...] [--scores-cache runs/score_cache] [--no-session | --speed-only]
"""
from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import command_line, machine
from engine.cli.common import select_titles
from engine.cli.score_cache import cached_scores
from engine.cli.scoring import discover_models, model_names, score_documents
from engine.curate.decisions import Decision
from engine.curate.feedback import learn_from_decisions
from engine.curate.queue import build_queue, rank_pending
from engine.curate.ranker import DEFAULT_RANKER, Ranker
from engine.curate.ranker_calibration import expected_calibration_error, reliability_table
from engine.curate.ranker_data import TrainingRecipe
from engine.curate.relation_stats import RelationStats
from engine.curate.suggestions import ScoreWeights, TypeStats, suggest
from engine.data.documents import Document, Fact, read_documents
from engine.data.pair_scores import PairScores
from engine.model.twin import measured_in_place
from review_session import CrossValidated, TrainingSources, cross_validate, review_session

Key = tuple[int, int, int, str]  # (document index, head, tail, relation id)
FIXED_K = (50, 100, 200, 500)
POOL_BANDS = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
POOL_TOP_K = (0, 1, 2)
MIN_GAIN_PER_1000 = 0.5  # the pool rule: widen while 1,000 more candidates add >= 0.5 % of the missing labels


@dataclass(frozen=True)
class Setting:
    """Documents with incomplete labels, and the triples their labels miss."""

    name: str
    documents: list[Document]
    missing: set[Key]


def triples(doc: Document) -> set[tuple[int, int, str]]:
    return {(f.h, f.t, f.r) for f in doc.facts or ()}


def revisit_setting(data: Path, max_docs: int | None) -> Setting:
    docred = read_documents(data / "revisit" / "docred_labels.json").documents[:max_docs]
    scratch = {d.title: d for d in read_documents(data / "revisit" / "scratch_labels.json").documents}
    missing = {(i, h, t, r) for i, d in enumerate(docred) for h, t, r in triples(scratch[d.title]) - triples(d)}
    return Setting("revisit", list(docred), missing)


def heldout_half_setting(data: Path, seed: int, max_docs: int | None) -> Setting:
    """Held-out documents with half of each one's triples hidden (seeded by seed and title, so a subset
    of documents hides the same triples as the full run)."""
    docs = select_titles(read_documents(data / "redocred" / "dev_revised.json").documents,
                         f"{data / 'redocred' / 'split.json'}:heldout")[:max_docs]
    kept, missing = [], set()
    for i, doc in enumerate(docs):
        gold = sorted(triples(doc))
        hidden = set(random.Random(f"{seed}/{doc.title}").sample(gold, len(gold) // 2))
        missing |= {(i, h, t, r) for h, t, r in hidden}
        kept.append(Document(doc.title, doc.sents, doc.entities,
                             tuple(Fact(h, t, r) for h, t, r in gold if (h, t, r) not in hidden), doc.extra))
    return Setting("heldout-half", kept, missing)


def margin_ranking(docs: Sequence[Document], scores: Sequence[PairScores], depth: int) -> list[tuple[float, Key]]:
    """(margin, triple) for every non-gold triple by one model's margin, highest first, the top `depth`."""
    rows: list[tuple[float, Key]] = []
    for i, (doc, ps) in enumerate(zip(docs, scores)):
        margins = ps.margins.copy()  # (n_pairs, n_rel)
        rel = {r: k for k, r in enumerate(ps.relation_ids)}
        for f in doc.facts or ():
            margins[ps.pair(f.h, f.t), rel[f.r]] = -np.inf
        flat = margins.ravel()
        top = np.argsort(-flat, kind="stable")[:depth]
        n_rel = margins.shape[1]
        rows += [(float(flat[j]), (i, int(ps.heads[j // n_rel]), int(ps.tails[j // n_rel]), ps.relation_ids[j % n_rel]))
                 for j in top if np.isfinite(flat[j])]
    rows.sort(key=lambda row: -row[0])  # stable: ties keep document order
    return rows[:depth]


def band_reaching(rankings: Sequence[Sequence[tuple[float, Key]]], k: int, floor: float) -> float:
    """The smallest band >= floor at which the combined list holds at least k triples: one model's k-th
    margin suffices, since the union over models only adds candidates."""
    needed = [-ranking[k - 1][0] for ranking in rankings if len(ranking) >= k]
    return max(floor, min(needed) + 1e-6) if needed else floor


def at_k(ranking: Sequence[Key], missing: set[Key], ks: Sequence[int]) -> list[tuple[float, float]]:
    """(precision, recall) of the missing triples in the top K, for each K."""
    out = []
    for k in ks:
        hits = sum(key in missing for key in ranking[:k])
        out.append((hits / max(min(k, len(ranking)), 1), hits / max(len(missing), 1)))
    return out


def pool_coverage(docs: Sequence[Document], scores: dict[str, list[PairScores]], missing: set[Key]
                  ) -> list[tuple[float, int, int, int]]:
    """(band, top_k, candidates, missing covered) for every pool setting: candidates are the non-gold triples
    whose best margin over the models is above -band or that rank among their pair's top_k by that margin."""
    rows = {(b, k): [0, 0] for b in POOL_BANDS for k in POOL_TOP_K}
    for i, doc in enumerate(docs):
        ps0 = next(s[i] for s in scores.values())
        best = np.max([s[i].margins for s in scores.values()], axis=0)  # (n_pairs, n_rel)
        for f in doc.facts or ():
            best[ps0.pair(f.h, f.t), ps0.relation_ids.index(f.r)] = -np.inf
        rank = np.argsort(np.argsort(-best, axis=1, kind="stable"), axis=1, kind="stable")
        miss = np.zeros_like(best, dtype=bool)
        for j, h, t, r in missing:
            if j == i:
                miss[ps0.pair(h, t), ps0.relation_ids.index(r)] = True
        finite = np.isfinite(best)
        for (b, k), acc in rows.items():
            sel = finite & ((best > -b) | (rank < k))
            acc[0] += int(sel.sum())
            acc[1] += int((sel & miss).sum())
    return [(b, k, n, c) for (b, k), (n, c) in rows.items()]


def pick_pool(coverage: list[tuple[float, int, int, int]], n_missing: int) -> tuple[float, int]:
    """Among band-only pools, the widest band whose step from the previous one still added at least
    MIN_GAIN_PER_1000 % of the missing labels per 1,000 candidates."""
    bands = sorted((b, n, c) for b, k, n, c in coverage if k == 0)
    chosen = bands[0][0]
    for (b0, n0, c0), (b1, n1, c1) in zip(bands, bands[1:]):
        if 100 * (c1 - c0) / n_missing / max((n1 - n0) / 1000, 1e-9) < MIN_GAIN_PER_1000:
            break
        chosen = b1
    return chosen, 0


def ranking_keys(cv: CrossValidated, probs: np.ndarray | None = None) -> list[Key]:
    from engine.curate.queue import ranked_order

    keys = cv.queue.keys()
    order = ranked_order(cv.probabilities if probs is None else probs, cv.queue.mean_margins())
    return [keys[j] for j in order]


def print_table(rows: list[tuple[str, list[Key]]], setting: Setting, ks: Sequence[int]) -> None:
    for label, ranking in rows:
        cells = " | ".join(f"{100 * pr:.1f} | {100 * rc:.1f}" for pr, rc in at_k(ranking, setting.missing, ks))
        print(f"| {setting.name} ({len(setting.documents)} docs, {len(setting.missing)} missing) | {label} | "
              f"{len(ranking)} | {cells} |")


def plot_curves(curves: dict[str, np.ndarray], budget: int, path: Path) -> bool:
    """Cumulative found and found per 100 reviewed, one line per ranking; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, found in curves.items():
        x = np.arange(1, len(found) + 1)
        a.plot(x, found, label=label)
        per100 = np.diff(np.concatenate([[0], found[99::100]]))
        b.plot(np.arange(100, 100 * len(per100) + 1, 100), per100, marker="o", label=label)
    a.set(xlabel="items reviewed", ylabel="missing labels found", title=f"revisit, budget {budget}")
    b.set(xlabel="items reviewed", ylabel="found in the last 100", title="found per 100 reviewed")
    for ax in (a, b):
        ax.grid(alpha=0.3)
    a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def timing(ranker: Ranker, docs: Sequence[Document], scores: dict[str, list[PairScores]], setting: Setting,
           type_stats: TypeStats, relation_stats: RelationStats) -> list[str]:
    """Re-rank time of a queue of about 5,000 candidates and refit time on 200 truthful decisions."""
    out = []
    n, take = 0, 0
    queue = None
    while take < len(docs):
        take += 1
        queue = build_queue(docs[:take], {m: s[:take] for m, s in scores.items()}, slots=ranker.slots,
                            pool=ranker.pool, type_stats=type_stats, missing_rates=ranker.missing_rates,
                            relation_stats=relation_stats)
        n = len(queue)
        if n >= 5000:
            break
    reps = []
    for _ in range(5):
        start = time.perf_counter()
        ranked = rank_pending(queue, ranker, ())
        reps.append(time.perf_counter() - start)
    out.append(f"re-rank of {n} candidates ({take} documents; label features + trees + calibration): "
               f"median {statistics.median(reps):.3f} s of 5")
    all_keys = queue.keys()
    keys = [all_keys[j] for j in ranked.rows[:200]]
    decisions = [Decision(docs[i].title, h, t, r, (i, h, t, r) in setting.missing) for i, h, t, r in keys]
    reps = []
    sub = {m: s[:take] for m, s in scores.items()}
    for _ in range(3):
        start = time.perf_counter()
        learn_from_decisions(docs[:take], sub, decisions, ranker=ranker, queue=queue)
        reps.append(time.perf_counter() - start)
    grown = min(ranker.config.n_models, ranker.config.refit_models)
    out.append(f"refit of the ranker ({len(ranker.boosters)} booster(s), refitted as {grown}; "
               f"{len(ranker.training)} training rows) with 200 decisions "
               f"({sum(d.accept for d in decisions)} accepted): median {statistics.median(reps):.2f} s of 3")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", nargs="+", help="checkpoint directories (default: every shipped model)")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"), help="the shared data directory")
    p.add_argument("--band", type=float, default=1.0,
                   help="review band of the formula ranking; widened where needed to rank as many as are missing")
    p.add_argument("--seed", type=int, default=0, help="seed of the hidden half")
    p.add_argument("--cv-folds", type=int, default=5)
    p.add_argument("--cv-seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=25, help="session: answers between re-orders / refits")
    p.add_argument("--max-docs", type=int, help="only the first N documents of each setting (smoke runs)")
    p.add_argument("--scores-cache", default=str(ROOT / "runs" / "score_cache"),
                   help="score cache directory (scored once, reused); '' to score every run")
    p.add_argument("--no-session", action="store_true", help="skip the simulated review sessions (minutes)")
    p.add_argument("--speed-only", action="store_true", help="only the shipped ranker's re-rank and refit times")
    p.add_argument("--ranker", default=str(DEFAULT_RANKER), help="with --speed-only: the ranker directory to time")
    p.add_argument("--plot", default=str(ROOT / "bench" / "fn_recovery_curves.png"))
    p.add_argument("--device")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    data = Path(args.data)
    # held-out and Revisit documents are scored only by models that never trained on them (engine.model.twin)
    checkpoints = measured_in_place([Path(c) for c in args.checkpoint] if args.checkpoint else discover_models())

    def scored(docs: Sequence[Document]) -> dict[str, list[PairScores]]:
        if args.scores_cache:
            return cached_scores(checkpoints, docs, Path(args.scores_cache), args.device, quiet=True)
        return score_documents(checkpoints, docs, args.device, quiet=True)

    split = f"{data / 'redocred' / 'split.json'}"
    dev = read_documents(data / "redocred" / "dev_revised.json").documents
    train = select_titles(dev, f"{split}:train")
    held = select_titles(dev, f"{split}:heldout")
    type_stats = TypeStats.from_documents(train)
    relation_stats = RelationStats.from_documents(train)
    recipe = TrainingRecipe()
    print("# False-negative recovery\n")
    print(f"machine: {machine()}")
    print(f"command: {command_line()}")
    print("compare with: plain ATLOP margin ranking, revisit, R@1117 a little under 1/3 (shared/data/README.md)")
    for name, path in zip(model_names(checkpoints), checkpoints):
        print(f"model {name}: {path}")
    revisit = revisit_setting(data, args.max_docs)
    if args.speed_only:
        for line in timing(Ranker.load(args.ranker), revisit.documents, scored(revisit.documents), revisit,
                           type_stats, relation_stats):
            print(f"- {line}")
        return 0
    halves = heldout_half_setting(data, args.seed, args.max_docs)
    scratch = read_documents(data / "revisit" / "scratch_labels.json").documents
    all_revisit = list(read_documents(data / "revisit" / "docred_labels.json").documents)
    revisit_titles = {d.title for d in all_revisit}
    sim = [d for d in held if d.title not in revisit_titles]
    sources = TrainingSources(all_revisit, scratch, scored(all_revisit), sim, scored(sim))

    print("\n## Candidate pools: share of the missing labels each pool holds\n")
    print("| setting | band | top_k | candidates | missing covered | share |")
    print("|---|---|---|---|---|---|")
    chosen = None
    for setting in (revisit, halves):
        cov = pool_coverage(setting.documents, scored(setting.documents), setting.missing)
        for b, k, n, c in cov:
            print(f"| {setting.name} | {b:g} | {k} | {n} | {c} | {100 * c / len(setting.missing):.1f} % |")
        if setting is revisit:
            chosen = pick_pool(cov, len(setting.missing))
    print(f"\nrule: the widest band whose step adds >= {MIN_GAIN_PER_1000} % of the revisit missing labels per "
          f"1,000 more candidates -> band {chosen[0]:g}, top_k {chosen[1]}; the shipped recipe uses band "
          f"{recipe.pool.band:g}, top_k {recipe.pool.top_k}")

    print("\n## Precision and recall at K\n")
    header = "| setting | ranking | list | " + " | ".join(f"P@{k} | R@{k}" for k in (*FIXED_K, "miss")) + " |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    timings, calibration, cvs = [], [], {}
    for setting in (revisit, halves):
        start = time.perf_counter()
        ks = (*FIXED_K, len(setting.missing))
        index = {d.title: i for i, d in enumerate(setting.documents)}
        scores = scored(setting.documents)
        margins = {name: margin_ranking(setting.documents, s, max(ks)) for name, s in scores.items()}
        rows = [(f"margin {name}", [key for _, key in ranking]) for name, ranking in margins.items()]
        band = band_reaching(list(margins.values()), max(ks), args.band)
        ranked = suggest(setting.documents, scores, type_stats=type_stats, band=band, weights=ScoreWeights())
        rows.append((f"formula (band {band:.2f})", [(index[s.title], s.h, s.t, s.r) for s in ranked]))
        cv = cross_validate(setting.documents, scores, sources, k=args.cv_folds, seed=args.cv_seed,
                            type_stats=type_stats, relation_stats=relation_stats, recipe=recipe)
        cvs[setting.name] = cv
        rows.append((f"learned ranker, {args.cv_folds}-fold CV by document (pool band {recipe.pool.band:g})",
                     ranking_keys(cv)))
        print_table(rows, setting, ks)
        labels = np.array([key in setting.missing for key in cv.queue.keys()], dtype=float)
        calibration.append((setting, cv, labels))
        timings.append(f"{setting.name}: {time.perf_counter() - start:.0f} s in all; ranker fits "
                       f"{', '.join(f'{s:.1f}' for s in cv.fit_seconds)} s; CV ranking of {len(cv.queue)} "
                       f"candidates {cv.rank_seconds:.2f} s")

    print("\n## Calibration of the cross-validated probabilities\n")
    for setting, cv, labels in calibration:
        ece = expected_calibration_error(cv.probabilities, labels)
        print(f"{setting.name}: ECE {ece:.4f} over {len(labels)} candidates; sum of probabilities "
              f"{cv.probabilities.sum():.0f} against {int(labels.sum())} missing labels in the pool")
    setting, cv, labels = calibration[0]
    print("\n| predicted | candidates | mean predicted | observed |")
    print("|---|---|---|---|")
    for b in reliability_table(cv.probabilities, labels):
        print(f"| {b.low:.1f}-{b.high:.1f} | {b.count} | {b.mean_predicted:.3f} | {b.observed:.3f} |")

    if not args.no_session:
        budget = len(revisit.missing)
        cv = cvs["revisit"]
        print(f"\n## Simulated review session (revisit, budget {budget}, re-ordered every {args.batch} answers)\n")
        print("| ranking | found in budget | found / budget | vs static | refit s (median, max) |")
        print("|---|---|---|---|---|")
        curves: dict[str, np.ndarray] = {}
        scores = scored(revisit.documents)
        for name in ("paee",) if "paee" in scores else ():
            keys = [key for _, key in margin_ranking(revisit.documents, scores[name], budget)]
            curves[f"margin {name}"] = np.cumsum([key in revisit.missing for key in keys[:budget]])
        band = band_reaching([margin_ranking(revisit.documents, s, budget) for s in scores.values()], budget, args.band)
        index = {d.title: i for i, d in enumerate(revisit.documents)}
        formula = [(index[s.title], s.h, s.t, s.r) for s in suggest(revisit.documents, scores, type_stats=type_stats,
                                                                    band=band)][:budget]
        curves["formula"] = np.cumsum([key in revisit.missing for key in formula])
        static = None
        for mode in ("static", "rerank", "refit"):
            start = time.perf_counter()
            res = review_session(cv, revisit.missing, budget, mode=mode, batch=args.batch)
            static = res.found[-1] if mode == "static" else static
            label = {"static": "learned ranker, no refit", "rerank": "learned ranker, accepted labels re-ranked",
                     "refit": f"learned ranker, refit every {args.batch}"}[mode]
            curves[label] = res.found
            refit = (f"{statistics.median(res.refit_seconds):.2f}, {max(res.refit_seconds):.2f}"
                     if res.refit_seconds else "-")
            print(f"| {label} | {res.found[-1]} | {100 * res.found[-1] / budget:.1f} % | "
                  f"{100 * (res.found[-1] / static - 1):+.1f} % | {refit} |")
            timings.append(f"session {mode}: {time.perf_counter() - start:.0f} s")
        for label in [k for k in curves if not k.startswith("learned")]:
            print(f"| {label} | {curves[label][-1]} | {100 * curves[label][-1] / budget:.1f} % | "
                  f"{100 * (curves[label][-1] / static - 1):+.1f} % | - |")
        if plot_curves(curves, budget, Path(args.plot)):
            print("\nfound-per-100 curves: "
                  f"{Path(args.plot).relative_to(ROOT) if Path(args.plot).is_relative_to(ROOT) else args.plot}")

    if (DEFAULT_RANKER / "ranker.json").is_file():
        print("\n## Speed of the shipped ranker\n")
        shipped = Ranker.load(DEFAULT_RANKER)
        for line in timing(shipped, revisit.documents, scored(revisit.documents), revisit, type_stats, relation_stats):
            print(f"- {line}")
    print(f"\ntimes: {'; '.join(timings)}; hidden-half seed {args.seed}, CV seed {args.cv_seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
