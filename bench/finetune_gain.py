"""Does fine-tuning on reviewed labels help the review queue? By-document cross-validation on the 51 Revisit
documents (their original DocRED labels; missing = the triples only the from-scratch re-annotation holds).

For each fold f of --folds: the other folds' documents are "reviewed": their queue from the unchanged model
(the app's: engine.curate.suggestions with the shipped ranker, type and relation statistics) is decided top down
by a truthful annotator for --budget decisions (accept a missing triple, reject the rest), the base model is
fine-tuned on those documents' corrected labels (gold + accepted - rejected) with engine.train.finetune, the one
the app's job runs, and fold f's queue is built from the fine-tuned model. Compared with the unchanged model's
queue on the same documents: P@200 and R@K (K = the number missing; 1,117 over all 51 documents) of the merged
held-out queues. Also checked: held-out F1 on `heldout` (split.json; the documents the fine-tune did not train on)
against the unchanged model's, with its 95% bootstrap interval over documents.

The base model must not have seen these documents: the shipped default is the 400-document twin (trained on
`train` only). CPU is scarce, so the run keeps a ledger: one small JSON per finished fold (and one for the
unchanged model) under bench/ledger/finetune/, and does only what the ledger lacks; the fine-tune of a fold
resumes from its last epoch (runs/finetune_gain/). The tables are rendered from the ledger alone.

    python bench/finetune_gain.py [--base assets/models/paee] [--folds 5] [--budget 200] [--epochs 3] [--smoke]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, command_line, machine, redocred_part  # noqa: E402
from engine.data.documents import Document, Fact, Triple, read_documents  # noqa: E402
from grid.ledger import read_record, write_record  # noqa: E402
from review_session import deal_folds  # noqa: E402

log = logging.getLogger("finetune_gain")
K_PRECISION = 200
BOOTSTRAP = 1000
SMOKE = {"max_docs": 6, "folds": 2, "budget": 10, "epochs": 1, "max_heldout": 6}


@dataclass(frozen=True)
class Plan:
    """One experiment: what the ledger key is computed from."""

    base: Path
    folds: int
    budget: int
    epochs: int
    seed: int
    max_docs: int | None
    max_heldout: int | None
    keep_predictions: bool = False

    def key(self) -> str:
        # the whole config: a shipped model changes in place (its decode restriction, its calibration)
        config = hashlib.sha256((self.base / "config.json").read_bytes()).hexdigest()
        identity = [config, self.folds, self.budget, self.epochs, self.seed, self.max_docs, self.max_heldout]
        if self.keep_predictions:  # a plan without it keeps the key it had before the option
            identity.append("keep-predictions")
        identity = json.dumps(identity)
        return f"{self.base.name}-{hashlib.sha256(identity.encode()).hexdigest()[:8]}"


def triples(doc: Document) -> set[Triple]:
    return {(f.h, f.t, f.r) for f in doc.facts or ()}


def revisit(data: Path, max_docs: int | None) -> tuple[list[Document], dict[str, set[Triple]]]:
    """The Revisit documents with their DocRED labels, and per title the triples only the re-annotation holds."""
    docred = read_documents(data / "revisit" / "docred_labels.json").documents[:max_docs]
    scratch = {d.title: d for d in read_documents(data / "revisit" / "scratch_labels.json").documents}
    return list(docred), {d.title: triples(scratch[d.title]) - triples(d) for d in docred}


def queue(docs: Sequence[Document], scores: Sequence, missing: dict[str, set[Triple]],
          learned: bool = True) -> list[list]:
    """The app's queue over `docs` from one model's scores: [score, hit, title, h, t, r] best first. learned:
    ordered by the shipped ranker (the app's); else by the formula, which learned from no Revisit document (the
    shipped ranker did, so its order of the unchanged model's queue is in-sample)."""
    from db.workflows.queue_inputs import review_target, shipped_type_stats  # noqa: PLC0415
    from engine.curate.suggestions import default_ranker, default_relation_stats, suggest  # noqa: PLC0415

    items = suggest([review_target(d) for d in docs], {"model": list(scores)}, type_stats=shipped_type_stats(),
                    ranker=default_ranker() if learned else None, relation_stats=default_relation_stats())
    return [[round(s.ranking_score, 6), (s.h, s.t, s.r) in missing[s.title], s.title, s.h, s.t, s.r] for s in items]


def review(items: Sequence[list], budget: int) -> tuple[dict[str, list[Fact]], int]:
    """A truthful annotator decides the top `budget` items: the accepted facts per title, and how many."""
    accepted: dict[str, list[Fact]] = {}
    for _, hit, title, h, t, r in items[:budget]:
        if hit:
            accepted.setdefault(title, []).append(Fact(h, t, r))
    return accepted, sum(len(v) for v in accepted.values())


def rejected(items: Sequence[list], budget: int) -> set[tuple[str, int, int, str]]:
    """The (title, h, t, r) the truthful annotator rejects among the top `budget` items."""
    return {(title, h, t, r) for _, hit, title, h, t, r in items[:budget] if not hit}


def counts(docs: Sequence[Document], scores: Sequence) -> dict[str, list[int]]:
    """Per title [true positives, predicted, gold], what a bootstrap of micro F1 needs."""
    out = {}
    for doc, ps in zip(docs, scores):
        predicted = {(h, t, r) for h, t, r, _ in ps.predicted_triples()}
        out[doc.title] = [len(predicted & triples(doc)), len(predicted), len(triples(doc))]
    return out


def predict(model: Path, docs: Sequence[Document]) -> list:
    from engine.serve.predictor import Predictor  # noqa: PLC0415

    return Predictor.from_checkpoint(model, "cpu").predict(list(docs))


def provenance(started: float) -> dict:
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    return {"git_commit": commit, "machine": machine(), "load_average": [round(x, 2) for x in os.getloadavg()],
            "seconds": round(time.perf_counter() - started, 1)}


def depth(plan: Plan, missing: dict) -> int:
    """How much of each fold's queue a record keeps: every figure reads at most this far into a merged queue
    (P@200, R@K with K the number missing, the review budget), so records stay small and figures exact."""
    return max(K_PRECISION, plan.budget, sum(len(m) for m in missing.values()))


def run_base(plan: Plan, path: Path, docs: list[Document], missing: dict, heldout: list[Document],
             fold_of: dict[str, int]) -> None:
    """The unchanged model: its queue on every Revisit document (each fold's top `depth`) and its F1 counts on
    every held-out one."""
    started = time.perf_counter()
    scores = predict(plan.base, docs)
    cap = depth(plan, missing)

    def per_fold(items: list[list]) -> list[list]:  # queue order kept: each fold's first `cap`
        seen, kept = dict.fromkeys(range(plan.folds), 0), []
        for item in items:
            fold = fold_of[item[2]]
            if seen[fold] < cap:
                seen[fold] += 1
                kept.append(item)
        return kept

    write_record(path, {"kind": "base", "base": str(plan.base), "queue": per_fold(queue(docs, scores, missing)),
                        "queue_formula": per_fold(queue(docs, scores, missing, learned=False)),
                        "heldout": counts(heldout, predict(plan.base, heldout)),
                        "missing": {t: len(m) for t, m in missing.items()}, "provenance": provenance(started)})


def run_fold(plan: Plan, fold: int, path: Path, base: dict, docs: list[Document], missing: dict,
             heldout: list[Document], fold_of: dict[str, int], runs: Path) -> None:
    """Review the other folds' queue, fine-tune on their corrected labels, score fold `fold`'s queue."""
    from engine.train.finetune import base_train_config, finetune  # noqa: PLC0415

    started = time.perf_counter()
    train_titles = {t for t, f in fold_of.items() if f != fold}
    reviewed = [item for item in base["queue"] if item[2] in train_titles]
    accepted, n_accepted = review(reviewed, plan.budget)
    train = [replace(d, facts=(*(d.facts or ()), *accepted.get(d.title, ()))) for d in docs if d.title in train_titles]
    n_kept = 0
    if plan.keep_predictions:  # the app's fine-tune job does the same (engine.train.finetune.keep_predictions)
        from engine.train.finetune import keep_predictions  # noqa: PLC0415

        refused = rejected(reviewed, plan.budget)
        train, n_kept = keep_predictions(
            train, [[(h, t, r) for h, t, r, _ in ps.predicted_triples()] for ps in predict(plan.base, train)],
            [{(h, t, r) for title, h, t, r in refused if title == d.title} for d in train])
    output = runs / plan.key() / f"fold{fold}"
    config = base_train_config(plan.base, epochs=plan.epochs)
    finetune(plan.base, train, output, config, device="cpu", lineage={"bench": "finetune_gain", "fold": fold},
             source=f"fold {fold}'s training documents")
    test = [d for d in docs if fold_of[d.title] == fold]
    evaluated = [d for d in heldout if d.title not in train_titles]
    write_record(path, {"kind": "fold", "fold": fold, "decisions": min(plan.budget, len(reviewed)),
                        "accepted": n_accepted, "kept_predictions": n_kept, "train_documents": len(train),
                        "epochs": plan.epochs,
                        "titles": sorted(d.title for d in test),
                        "queue": queue(test, tuned := predict(output, test), missing)[:depth(plan, missing)],
                        "queue_formula": queue(test, tuned, missing, learned=False)[:depth(plan, missing)],
                        "heldout": counts(evaluated, predict(output, evaluated)), "provenance": provenance(started)})


def f1(rows: Sequence[Sequence[int]]) -> float:
    tp, pred, gold = (sum(r[i] for r in rows) for i in range(3))
    return 2 * tp / (pred + gold) if pred + gold else 0.0


def interval(rows: Sequence[Sequence[int]], seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of micro F1 over documents."""
    rng = random.Random(seed)
    draws = sorted(f1([rows[rng.randrange(len(rows))] for _ in rows]) for _ in range(BOOTSTRAP))
    return draws[int(0.025 * BOOTSTRAP)], draws[int(0.975 * BOOTSTRAP) - 1]


def at_k(items: Sequence[list], n_missing: int, k: int) -> tuple[float, float]:
    """(precision, recall) of the missing triples in the top k of a queue."""
    hits = sum(1 for item in items[:k] if item[1])
    return hits / max(min(k, len(items)), 1), hits / max(n_missing, 1)


def render(plan: Plan, base: dict, folds: list[dict]) -> str:
    """The markdown tables, from the ledger records alone."""
    titles = {t for record in folds for t in record["titles"]}
    n_missing = sum(base["missing"][t] for t in titles)
    by_score = lambda item: -item[0]  # noqa: E731 - a sort key
    k = n_missing
    lines = [f"Revisit, {len(titles)} documents in {len(folds)} of {plan.folds} held-out folds, {n_missing} missing "
             f"triples; review budget {plan.budget} decisions per fold, {plan.epochs} epoch(s) from {plan.base.name}"
             + ("; the base model's unrejected predictions kept as labels." if plan.keep_predictions else "."),
             "", f"| order | queue from | P@{K_PRECISION} | R@{K_PRECISION} | P@{k} | R@{k} |",
             "|---|---|---|---|---|---|"]
    for order, field in (("shipped ranker (in-sample for the unchanged model)", "queue"),
                         ("formula (learned from no Revisit document)", "queue_formula")):
        if field not in base or any(field not in record for record in folds):
            continue
        tuned = sorted((item for record in folds for item in record[field]), key=by_score)
        unchanged = [item for item in base[field] if item[2] in titles]
        for name, items in (("unchanged model", unchanged), ("fine-tuned on the other folds' review", tuned)):
            p200, r200 = at_k(items, n_missing, K_PRECISION)
            pk, rk = at_k(items, n_missing, k)
            lines.append(f"| {order} | {name} | {100 * p200:.1f} | {100 * r200:.1f} | {100 * pk:.1f} | "
                         f"{100 * rk:.1f} |")
    lines += ["", "| fold | decisions | accepted | held-out docs | F1 unchanged [95% interval] | F1 fine-tuned | drop "
              "| within interval |", "|---|---|---|---|---|---|---|---|"]
    for record in sorted(folds, key=lambda r: r["fold"]):
        rows = list(record["heldout"].values())
        before = [base["heldout"][t] for t in record["heldout"]]
        low, high = interval(before)
        drop = f1(before) - f1(rows)
        lines.append(f"| {record['fold']} | {record['decisions']} | {record['accepted']} | {len(rows)} | "
                     f"{100 * f1(before):.2f} [{100 * low:.2f}, {100 * high:.2f}] | {100 * f1(rows):.2f} | "
                     f"{100 * drop:+.2f} | {'yes' if drop <= f1(before) - low else 'no'} |")
    machines = sorted({r["provenance"]["machine"] for r in [base, *folds]})
    loads = [r["provenance"]["load_average"][0] for r in [base, *folds]]
    lines += ["", f"Machine(s): {'; '.join(machines)}; load average (1 min) at the records' end: "
              f"{min(loads):.1f}-{max(loads):.1f}."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", help="the model to fine-tune (default: the shipped default, assets/models/DEFAULT)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--budget", type=int, default=200, help="review decisions on the other folds' queue")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--ledger", default=str(ROOT / "bench" / "ledger" / "finetune"))
    p.add_argument("--runs", default=str(ROOT / "runs" / "finetune_gain"))
    p.add_argument("--smoke", action="store_true", help=f"tiny sizes, to check the path: {SMOKE}")
    p.add_argument("--render-only", action="store_true", help="print the tables from the ledger, run nothing")
    p.add_argument("--keep-predictions", action="store_true",
                   help="train on the base model's own predictions too, less the rejected ones (self-training)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from engine.model.twin import measured_in_place  # noqa: PLC0415
    from engine.settings import get_settings  # noqa: PLC0415

    sizes = SMOKE if args.smoke else {"max_docs": None, "folds": args.folds, "budget": args.budget,
                                      "epochs": args.epochs, "max_heldout": None}
    # the base must not have seen the Revisit documents: a model retrained on every document is replaced by its twin
    base = measured_in_place([Path(args.base) if args.base else get_settings().default_model])[0]
    plan = Plan(base, sizes["folds"], sizes["budget"],
                sizes["epochs"], args.seed, sizes["max_docs"], sizes["max_heldout"], args.keep_predictions)
    data, ledger, key = Path(args.data), Path(args.ledger), plan.key()
    docs, missing = revisit(data, plan.max_docs)
    fold_of = deal_folds(docs, plan.folds, plan.seed)
    revisit_titles = set(fold_of)
    heldout = redocred_part("heldout", data)
    # smoke: the Revisit documents among held-out (they are all there), so the F1 check has some to test on
    if plan.max_heldout is not None:
        heldout = [d for d in heldout if d.title in revisit_titles][:plan.max_heldout]
    print(f"{command_line()}\n{machine()}\nledger {ledger / key}-*.json\n")
    base_path = ledger / f"{key}-base.json"
    if not args.render_only and read_record(base_path) is None:
        log.info("scoring with the unchanged model %s", plan.base)
        run_base(plan, base_path, docs, missing, heldout, fold_of)
    base = read_record(base_path)
    for fold in range(plan.folds):
        path = ledger / f"{key}-fold{fold}.json"
        if not args.render_only and base is not None and read_record(path) is None:
            log.info("fold %d of %d", fold + 1, plan.folds)
            run_fold(plan, fold, path, base, docs, missing, heldout, fold_of, Path(args.runs))
    folds = [r for fold in range(plan.folds) if (r := read_record(ledger / f"{key}-fold{fold}.json")) is not None]
    print(render(plan, base, folds) if base is not None and folds else "nothing in the ledger yet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
