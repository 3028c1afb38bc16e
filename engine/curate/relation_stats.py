"""Relation co-occurrence learned from complete training labels: how often a labelled context implies a
triple. It generalises the hand-written rules of relation_logic (inverse, symmetric, chain) to whatever
the training documents show, as conditional frequencies the ranker can weigh:

- pair:    P(r on (h, t) | r' labelled on (h, t))             e.g. P27 citizenship given P19 born in a country
- reverse: P(r on (h, t) | r' labelled on (t, h))             e.g. P131 given P150, P3373 given P3373
- chain:   P(r on (h, t) | r1 between h and m, r2 between m and t), each link in either direction

The shipped assets/relation_stats.json holds the statistics of the 400 Re-DocRED train documents (the
shipped models' training set, whose labels are nearly complete); frequencies are smoothed by +2 in the
denominator and only contexts seen at least `min_count` times with P >= `min_p` are kept."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.data.documents import Document, Triple
from engine.errors import InputFileError

DEFAULT_RELATION_STATS = Path(__file__).resolve().parents[2] / "assets" / "relation_stats.json"
Link = str  # "r>" (h -> m or m -> t) or "r<" (the other way round)


@dataclass(frozen=True)
class LabelContext:
    """One document's labels indexed for context look-ups."""

    by_pair: Mapping[tuple[int, int], tuple[str, ...]]
    neighbours: Mapping[int, frozenset[int]]

    @classmethod
    def from_labels(cls, labels: Iterable[Triple]) -> "LabelContext":
        by_pair: dict[tuple[int, int], list[str]] = defaultdict(list)
        neighbours: dict[int, set[int]] = defaultdict(set)
        for h, t, r in labels:
            by_pair[(h, t)].append(r)
            neighbours[h].add(t)
            neighbours[t].add(h)
        return cls({k: tuple(sorted(v)) for k, v in by_pair.items()}, {k: frozenset(v) for k, v in neighbours.items()})

    def chains(self, h: int, t: int) -> set[tuple[Link, Link]]:
        """Every (first link, second link) through an intermediate entity m between h and t."""
        out: set[tuple[Link, Link]] = set()
        for m in self.neighbours.get(h, frozenset()) & self.neighbours.get(t, frozenset()):
            if m in (h, t):
                continue
            first = [f"{r}>" for r in self.by_pair.get((h, m), ())] + [f"{r}<" for r in self.by_pair.get((m, h), ())]
            second = [f"{r}>" for r in self.by_pair.get((m, t), ())] + [f"{r}<" for r in self.by_pair.get((t, m), ())]
            out.update((a, b) for a in first for b in second)
        return out


@dataclass(frozen=True)
class RelationStats:
    """Conditional frequencies of a relation given a labelled context (see the module docstring)."""

    pair: Mapping[str, Mapping[str, float]]
    reverse: Mapping[str, Mapping[str, float]]
    chain: Mapping[tuple[Link, Link], Mapping[str, float]]
    source: str = ""

    @classmethod
    def from_documents(cls, documents: Iterable[Document], source: str = "", min_count: int = 3,
                       min_p: float = 0.05) -> "RelationStats":
        pair_n: Counter[str] = Counter()
        pair_c: Counter[tuple[str, str]] = Counter()
        rev_n: Counter[str] = Counter()
        rev_c: Counter[tuple[str, str]] = Counter()
        chain_n: Counter[tuple[Link, Link]] = Counter()
        chain_c: Counter[tuple[tuple[Link, Link], str]] = Counter()
        for doc in documents:
            labels = {(f.h, f.t, f.r) for f in doc.facts or ()}
            ctx = LabelContext.from_labels(labels)
            for (h, t), rels in ctx.by_pair.items():
                for r1 in rels:
                    pair_n[r1] += 1
                    pair_c.update((r1, r) for r in rels if r != r1)
                    rev_n[r1] += 1
                    rev_c.update((r1, r) for r in ctx.by_pair.get((t, h), ()))
            for h in range(doc.num_entities):
                for t in range(doc.num_entities):
                    if h == t:
                        continue
                    here = ctx.by_pair.get((h, t), ())
                    for key in ctx.chains(h, t):
                        chain_n[key] += 1
                        chain_c.update((key, r) for r in here)

        def table(num: Counter, den: Counter) -> dict:
            out: dict = defaultdict(dict)
            for (ctx_key, r), c in num.items():
                p = c / (den[ctx_key] + 2)
                if c >= min_count and p >= min_p:
                    out[ctx_key][r] = round(p, 4)
            return dict(out)

        return cls(table(pair_c, pair_n), table(rev_c, rev_n), table(chain_c, chain_n), source)

    def context_probabilities(self, ctx: LabelContext, h: int, t: int, r: str) -> tuple[float, float, float]:
        """(pair, reverse, chain): the highest frequency of r given any labelled context of (h, t); 0 if none."""
        pair = max((self.pair.get(r1, {}).get(r, 0.0) for r1 in ctx.by_pair.get((h, t), ()) if r1 != r), default=0.0)
        rev = max((self.reverse.get(r1, {}).get(r, 0.0) for r1 in ctx.by_pair.get((t, h), ())), default=0.0)
        chain = max((self.chain.get(key, {}).get(r, 0.0) for key in ctx.chains(h, t)), default=0.0)
        return pair, rev, chain

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "pair": self.pair, "reverse": self.reverse,
                "chain": {f"{a} {b}": v for (a, b), v in sorted(self.chain.items())}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "RelationStats":
        chain = {tuple(k.split(" ")): dict(v) for k, v in data["chain"].items()}
        return cls(dict(data["pair"]), dict(data["reverse"]), chain, data.get("source", ""))  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path = DEFAULT_RELATION_STATS) -> "RelationStats":
        """Statistics saved with to_json (the shipped ones by default)."""
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputFileError(f"{path}: not a relation statistics file ({exc}); make one with "
                                 "RelationStats.from_documents(train_documents).to_json()") from None
