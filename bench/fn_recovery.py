"""False-negative recovery: how many truly missing labels come out on top of the review ranking.

Two settings, both on documents no shipped model trained on:
- revisit: the 51 Revisit-DocRED documents with their original DocRED labels (incomplete); missing = the
  triples only the from-scratch re-annotation holds (1,117).
- heldout-half: the 100 held-out Re-DocRED documents (split.json "heldout", dev_revised.json) with a seeded
  half of each document's triples hidden; missing = the hidden half.

For each model, its plain margin ranking (every non-gold triple, highest margin first) and the combined
`engine.curate.suggestions` ranking (all models, agreement, type fit from the 400 train documents, relation logic) are
scored by precision and recall of the missing triples at K = 50, 100, 200 and K = the number missing ("miss").
P@K divides by the number ranked when the list is shorter than K (the "list" column). The combined ranking's
band (--band, default 1.0) is widened where needed so that it ranks at least max(K) triples,
which keeps recall at every K comparable with the single-model rankings. The figure to compare
with (shared/data/README.md): a plain ATLOP margin ranking recovers a little under a third of the revisit
missing triples at K = 1,117. Prints a table; writes nothing.

    .venv/bin/python bench/fn_recovery.py [--checkpoint DIR ...] [--band 1.0] [--max-docs N]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.cli.common import select_titles  # noqa: E402
from engine.cli.suggest import discover_models, model_names, score_documents  # noqa: E402
from engine.data.documents import Document, Fact, read_documents  # noqa: E402
from engine.data.pair_scores import PairScores  # noqa: E402
from engine.curate.suggestions import ScoreWeights, TypeStats, suggest  # noqa: E402

Key = tuple[int, int, int, str]  # (document index, head, tail, relation id)
FIXED_K = (50, 100, 200)


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


def machine() -> str:
    import torch  # noqa: PLC0415

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, {gpu}, torch {torch.__version__}, "
            f"Python {platform.python_version()}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", nargs="+", help="checkpoint directories (default: every shipped model)")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"), help="the shared data directory")
    p.add_argument("--band", type=float, default=1.0,
                   help="review band of the combined ranking; widened where needed to rank as many as are missing")
    p.add_argument("--seed", type=int, default=0, help="seed of the hidden half")
    p.add_argument("--max-docs", type=int, help="only the first N documents of each setting (smoke runs)")
    p.add_argument("--device")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    data = Path(args.data)
    checkpoints = [Path(c) for c in args.checkpoint] if args.checkpoint else discover_models()
    train = select_titles(read_documents(data / "redocred" / "dev_revised.json").documents,
                          f"{data / 'redocred' / 'split.json'}:train")
    type_stats = TypeStats.from_documents(train)
    print("# False-negative recovery\n")
    print(f"machine: {machine()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print("compare with: plain ATLOP margin ranking, revisit, R@1117 a little under 1/3 (shared/data/README.md)")
    for name, path in zip(model_names(checkpoints), checkpoints):
        info = json.loads((path / "config.json").read_text(encoding="utf-8"))
        print(f"model {name}: {path} ({info.get('method')}, metrics {info.get('metrics')})")
    print()
    header = "| setting | ranking | list | " + " | ".join(f"P@{k} | R@{k}" for k in (*FIXED_K, "miss")) + " |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    timings = []
    for setting in (revisit_setting(data, args.max_docs), heldout_half_setting(data, args.seed, args.max_docs)):
        start = time.perf_counter()
        ks = (*FIXED_K, len(setting.missing))
        index = {d.title: i for i, d in enumerate(setting.documents)}
        if len(index) != len(setting.documents):
            raise SystemExit(f"{setting.name}: repeated titles; suggestions could not be matched to documents")
        scores = score_documents(checkpoints, setting.documents, args.device, quiet=True)
        margins = {name: margin_ranking(setting.documents, s, max(ks)) for name, s in scores.items()}
        rows = [(f"margin {name}", [key for _, key in ranking]) for name, ranking in margins.items()]
        band = band_reaching(list(margins.values()), max(ks), args.band)
        for label, weights in (("combined", ScoreWeights()), ("combined, no type/logic", ScoreWeights(0.25, 0.0, 0.0))):
            ranked = suggest(setting.documents, scores, type_stats=type_stats, band=band, weights=weights)
            rows.append((f"{label} (band {band:.2f})", [(index[s.title], s.h, s.t, s.r) for s in ranked]))
        for label, ranking in rows:
            cells = " | ".join(f"{100 * pr:.1f} | {100 * rc:.1f}" for pr, rc in at_k(ranking, setting.missing, ks))
            print(f"| {setting.name} ({len(setting.documents)} docs, {len(setting.missing)} missing) | {label} | "
                  f"{len(ranking)} | {cells} |")
        timings.append(f"{setting.name} {time.perf_counter() - start:.0f} s")
    print(f"\nscoring and ranking time: {', '.join(timings)}; hidden-half seed {args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
