"""Raw-text ingestion against gold entities: mention, link and entity F1 of `engine.data.ingest` on the 100 held-out
Re-DocRED documents (split.json "heldout", dev_revised.json), detokenised, without and with alias linking (rules 4
and 5 of engine/data/ingest.py: surnames, repeated proper-noun heads).

Each document's text is its tokens joined by single spaces (sentences too), so every gold mention has a known
character span; the ingested tokens are found in that text in order, which gives theirs. Scores, micro-averaged:
- mention F1: predicted mention spans equal to gold ones;
- link F1: pairs of mentions in one entity (both mentions matched), predicted against gold (what linking changes);
- entity F1: predicted entities whose set of mention spans equals a gold entity's.
The figure to compare with is the same script without alias linking (the "before" row). Prints a markdown table.

    python bench/alias_linking.py [--limit N]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.data.documents import Document, read_documents  # noqa: E402
from engine.data.ingest import ingest_text  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "redocred"
Span = tuple[int, int]


def detokenise(doc: Document) -> tuple[str, list[frozenset[Span]]]:
    """The text (tokens joined by spaces) and each gold entity as its set of mention character spans."""
    starts: list[list[int]] = []
    pos, words = 0, []
    for sent in doc.sents:
        offsets = []
        for token in sent:
            offsets.append(pos)
            words.append(token)
            pos += len(token) + 1
        starts.append(offsets)
    text = " ".join(words)
    entities = []
    for entity in doc.entities:
        spans = set()
        for x in entity.mentions:
            last = doc.sents[x.sent_id][x.end - 1]
            spans.add((starts[x.sent_id][x.start], starts[x.sent_id][x.end - 1] + len(last)))
        entities.append(frozenset(spans))
    return text, entities


def predicted_entities(text: str, doc: Document) -> list[frozenset[Span]]:
    """The ingested entities as sets of character spans, found by walking the ingested tokens through the text."""
    cursor, starts = 0, []
    for sent in doc.sents:
        offsets = []
        for token in sent:
            at = text.find(token, cursor)
            offsets.append(at)
            cursor = at + len(token) if at >= 0 else cursor
        starts.append(offsets)
    out = []
    for entity in doc.entities:
        spans = set()
        for x in entity.mentions:
            begin, last = starts[x.sent_id][x.start], starts[x.sent_id][x.end - 1]
            if begin >= 0 and last >= 0:
                spans.add((begin, last + len(doc.sents[x.sent_id][x.end - 1])))
        if spans:
            out.append(frozenset(spans))
    return out


def links(entities: list[frozenset[Span]], keep: set[Span]) -> set[frozenset[Span]]:
    return {frozenset(p) for e in entities for p in combinations(sorted(e & keep), 2)}


def f1(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p, r = tp / n_pred if n_pred else 0.0, tp / n_gold if n_gold else 0.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def score(pairs: list[tuple[list[frozenset[Span]], list[frozenset[Span]]]]) -> dict[str, tuple[float, float, float]]:
    counts = {"mention": [0, 0, 0], "link": [0, 0, 0], "entity": [0, 0, 0]}
    for gold, pred in pairs:
        g_m, p_m = set().union(*gold), set().union(*pred) if pred else set()
        both = g_m & p_m
        g_l, p_l = links(gold, both), links(pred, both)
        for key, (g, p) in {"mention": (g_m, p_m), "link": (g_l, p_l), "entity": (set(gold), set(pred))}.items():
            counts[key][0] += len(g & p)
            counts[key][1] += len(p)
            counts[key][2] += len(g)
    return {k: f1(*v) for k, v in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N held-out documents")
    args = parser.parse_args()
    titles = set(json.loads((DATA / "split.json").read_text())["heldout"])
    docs = [d for d in read_documents(DATA / "dev_revised.json").documents if d.title in titles][:args.limit]
    texts = [detokenise(d) for d in docs]
    print(f"machine: {platform.node()} ({platform.processor() or platform.machine()}), python "
          f"{platform.python_version()}")
    print(f"command: python bench/alias_linking.py{'' if args.limit is None else f' --limit {args.limit}'}")
    print(f"documents: {len(docs)} held-out (dev_revised.json, split.json:heldout)\n")
    print("| ingestion | mention P / R / F1 | link P / R / F1 | entity P / R / F1 | seconds |")
    print("|---|---|---|---|---|")
    for label, alias in (("before (rules 1-3)", False), ("after (alias linking, rules 1-5)", True)):
        start = time.perf_counter()
        pairs = [(gold, predicted_entities(text, ingest_text(text, title=d.title, alias_linking=alias)))
                 for d, (text, gold) in zip(docs, texts)]
        seconds = time.perf_counter() - start
        s = score(pairs)
        cells = " | ".join(" / ".join(f"{100 * v:.1f}" for v in s[k]) for k in ("mention", "link", "entity"))
        print(f"| {label} | {cells} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
