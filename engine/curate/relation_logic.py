"""Relation logic over DocRED's Wikidata properties: which labelled triples imply a candidate.

A candidate (h, t, r) is *supported* when the gold labels already hold a triple that logically entails it, so
a model's near-threshold score for it is more likely a missing label than a mistake. Three kinds of rule:

- inverse  (t, h, r') labelled and r' entails r the other way round, e.g. (Y, X, P150 "contains") -> (X, Y, P131);
- symmetric (t, h, r) labelled for r in SYMMETRIC (spouse, sibling, sister city);
- chain    (h, m, a) and (m, t, b) labelled entail (h, t, c), e.g. P131 then P17 -> P17.

Only rules that are sound in Wikidata and that Re-DocRED's 400 train documents confirm are listed: in those
documents each listed rule's implied triple is labelled 95-100% of the time, except P159 + P17 -> P17 (78%),
P1441 -> P674 (60%) and P40 -> P22/P25 (90% for "father or mother"; gender decides which, so both are
supported). Left out on purpose: P131 -> P150 (17%: P150 holds direct subdivisions only), P127 owned by (no
inverse in the schema), P19 born in + P17 -> P27 (birth place is not citizenship)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.data.documents import Triple

SYMMETRIC: frozenset[str] = frozenset({"P26", "P3373", "P190"})  # spouse, sibling, sister city

# labelled relation -> relations it entails with head and tail swapped
INVERSE: Mapping[str, tuple[str, ...]] = {
    "P150": ("P131",),  # contains administrative territorial entity -> located in the ...
    "P527": ("P361",), "P361": ("P527",),  # has part <-> part of
    "P355": ("P749",), "P749": ("P355",),  # subsidiary <-> parent organization
    "P155": ("P156",), "P156": ("P155",),  # follows <-> followed by
    "P1365": ("P1366",), "P1366": ("P1365",),  # replaces <-> replaced by
    "P36": ("P1376",), "P1376": ("P36",),  # capital <-> capital of
    "P710": ("P1344",), "P1344": ("P710",),  # participant <-> participant of
    "P674": ("P1441",), "P1441": ("P674",),  # characters <-> present in work
    "P22": ("P40",), "P25": ("P40",),  # father / mother -> child
    "P40": ("P22", "P25"),  # child -> father or mother (gender decides which; both are supported)
}

# (first, second) -> entailed: (h, m, first) and (m, t, second) entail (h, t, entailed)
CHAIN: Mapping[tuple[str, str], str] = {
    ("P131", "P131"): "P131",  # located in is transitive
    ("P131", "P17"): "P17",  # located in a place of country C -> country C
    ("P159", "P17"): "P17",  # headquarters in a place of country C -> country C
}

# relations whose head and tail must both be these types for any rule to support them
TYPE_CONSTRAINTS: Mapping[str, tuple[str, str]] = {"P22": ("PER", "PER"), "P25": ("PER", "PER"), "P40": ("PER", "PER"),
                                                   "P26": ("PER", "PER"), "P3373": ("PER", "PER")}


def reverse_support(relation: str) -> tuple[str, ...]:
    """Relations r' whose triple (t, h, r') entails (h, t, relation): its inverses, and itself if symmetric."""
    out = [r2 for r2, implied in INVERSE.items() if relation in implied]
    return (*out, relation) if relation in SYMMETRIC else tuple(out)


def chain_support(relation: str) -> tuple[tuple[str, str], ...]:
    """(first, second) relation pairs whose chain (h, m, first), (m, t, second) entails (h, t, relation)."""
    return tuple(pair for pair, implied in CHAIN.items() if implied == relation)


@dataclass(frozen=True)
class RuleIndex:
    """Every triple the labels of one document entail, with the names of the rules that entail it."""

    support: Mapping[Triple, tuple[str, ...]]

    @classmethod
    def from_labels(cls, labels: Iterable[Triple], entity_types: tuple[str, ...] | None = None) -> "RuleIndex":
        """Entailed triples of one document's labels; `entity_types` (per entity) enforces TYPE_CONSTRAINTS."""
        gold = set(labels)
        found: dict[Triple, set[str]] = defaultdict(set)
        by_head: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for h, t, r in gold:
            by_head[h].append((t, r))
        for h, t, r in gold:
            if r in SYMMETRIC:
                found[(t, h, r)].add(f"symmetric:{r}")
            for r2 in INVERSE.get(r, ()):
                found[(t, h, r2)].add(f"inverse:{r}")
            for t2, r2 in by_head[t]:
                entailed = CHAIN.get((r, r2))
                if entailed is not None and t2 != h:
                    found[(h, t2, entailed)].add(f"chain:{r}>{r2}")
        return cls({k: tuple(sorted(v)) for k, v in found.items()
                    if k not in gold and _types_ok(k, entity_types)})

    def rules_for(self, h: int, t: int, r: str) -> tuple[str, ...]:
        """Names of the rules that entail (h, t, r), e.g. ("inverse:P150",); empty when none fires."""
        return self.support.get((h, t, r), ())


def _types_ok(triple: Triple, entity_types: tuple[str, ...] | None) -> bool:
    h, t, r = triple
    wanted = TYPE_CONSTRAINTS.get(r)
    if wanted is None or entity_types is None:
        return True
    return (entity_types[h], entity_types[t]) == wanted
