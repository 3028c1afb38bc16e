"""DocRED-style evaluation: micro P/R/F1, Ign F1, and the breakdowns the papers report.

Scores are fractions in 0..1 (the table prints percent). Every figure is kept as counts
(correct, predicted, gold) so reports merge, round-trip through JSON and can be checked by hand.
Like the official DocRED script, gold and predicted triples are sets: a repeated prediction counts once."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from engine.data.documents import Document, Triple
from engine.errors import DocreError

Key = tuple[int, int, int, str]  # (document index, head, tail, relation id)
NameFact = tuple[str, str, str]  # (head mention name, tail mention name, relation id)


class EvaluationError(DocreError, ValueError):
    """Gold and predictions cannot be compared (misaligned, unlabelled, or an entity index out of range)."""


@dataclass(frozen=True)
class PrecisionRecallF1:
    """Micro precision/recall/F1 kept as counts, so zero denominators give 0 rather than an error."""

    n_correct: int
    n_pred: int
    n_gold: int

    @property
    def precision(self) -> float:
        return self.n_correct / self.n_pred if self.n_pred else 0.0

    @property
    def recall(self) -> float:
        return self.n_correct / self.n_gold if self.n_gold else 0.0

    @property
    def f1(self) -> float:
        """2PR/(P+R), written as 2c/(pred+gold): the same value, and 0 when nothing is correct."""
        total = self.n_pred + self.n_gold
        return 2 * self.n_correct / total if total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1,
                "n_correct": self.n_correct, "n_pred": self.n_pred, "n_gold": self.n_gold}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PrecisionRecallF1":
        return cls(data["n_correct"], data["n_pred"], data["n_gold"])


@dataclass(frozen=True)
class PairDetection:
    """PAEE's "Rela": whether each ordered pair (h != t) has any relation at all, regardless of which."""

    score: PrecisionRecallF1  # positive class: "the pair has at least one relation"
    n_pairs: int
    n_agree: int  # true positives + true negatives

    @property
    def accuracy(self) -> float:
        return self.n_agree / self.n_pairs if self.n_pairs else 0.0

    def to_json(self) -> dict[str, Any]:
        return {**self.score.to_json(), "accuracy": self.accuracy, "n_pairs": self.n_pairs, "n_agree": self.n_agree}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PairDetection":
        return cls(PrecisionRecallF1.from_json(data), data["n_pairs"], data["n_agree"])


@dataclass(frozen=True)
class EvaluationReport:
    """Everything `evaluate` measures. `groups` holds intra/inter, multi_either/multi_both and, with
    train data, head/mid/tail; `relation_groups` names the relations in head/mid/tail."""

    overall: PrecisionRecallF1
    n_correct_in_train: int | None  # correct triples whose name fact is labelled in train; None without train
    per_relation: dict[str, PrecisionRecallF1]
    groups: dict[str, PrecisionRecallF1]
    pair_detection: PairDetection
    n_documents: int
    relation_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ign_precision(self) -> float | None:
        """Precision after dropping correct triples already labelled in train (official DocRED)."""
        if self.n_correct_in_train is None:
            return None
        kept = self.overall.n_pred - self.n_correct_in_train
        return (self.overall.n_correct - self.n_correct_in_train) / kept if kept else 0.0

    @property
    def ign_f1(self) -> float | None:
        """F1 of ign_precision and the usual recall, as the official script computes it."""
        p, r = self.ign_precision, self.overall.recall
        if p is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "n_documents": self.n_documents, "overall": self.overall.to_json(),
            "ign_precision": self.ign_precision, "ign_f1": self.ign_f1, "n_correct_in_train": self.n_correct_in_train,
            "per_relation": {r: s.to_json() for r, s in self.per_relation.items()},
            "groups": {g: s.to_json() for g, s in self.groups.items()},
            "relation_groups": {g: list(rs) for g, rs in self.relation_groups.items()},
            "pair_detection": self.pair_detection.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "EvaluationReport":
        return cls(
            overall=PrecisionRecallF1.from_json(data["overall"]), n_correct_in_train=data["n_correct_in_train"],
            per_relation={r: PrecisionRecallF1.from_json(s) for r, s in data["per_relation"].items()},
            groups={g: PrecisionRecallF1.from_json(s) for g, s in data["groups"].items()},
            pair_detection=PairDetection.from_json(data["pair_detection"]), n_documents=data["n_documents"],
            relation_groups={g: tuple(rs) for g, rs in data.get("relation_groups", {}).items()},
        )


def evaluate(gold: Sequence[Document], predicted: Sequence[Iterable[Triple]], train: Sequence[Document] | None = None,
             *, head_size: int = 10, tail_size: int = 20) -> EvaluationReport:
    """Compare predicted (head, tail, relation) triples with the gold facts, document by document."""
    if len(gold) != len(predicted):
        raise EvaluationError(f"expected one prediction list per gold document ({len(gold)}), got {len(predicted)}; "
                              "align predictions with the gold documents")
    gold_keys = {(i, *tr) for i, doc in enumerate(gold) for tr in _gold_triples(doc, i)}
    pred_keys = {(i, *tr) for i, (doc, preds) in enumerate(zip(gold, predicted)) for tr in _checked(doc, i, preds)}
    sents = [[frozenset(m.sent_id for m in e.mentions) for e in doc.entities] for doc in gold]

    def intra(k: Key) -> bool:
        return bool(sents[k[0]][k[1]] & sents[k[0]][k[2]])

    def multi(k: Key) -> tuple[bool, bool]:
        return len(gold[k[0]].entities[k[1]].mentions) > 1, len(gold[k[0]].entities[k[2]].mentions) > 1

    groups = {"intra": _score(gold_keys, pred_keys, intra),
              "inter": _score(gold_keys, pred_keys, lambda k: not intra(k)),
              "multi_either": _score(gold_keys, pred_keys, lambda k: any(multi(k))),
              "multi_both": _score(gold_keys, pred_keys, lambda k: all(multi(k)))}
    relation_groups: dict[str, tuple[str, ...]] = {}
    in_train = None
    if train is not None:
        seen_in = {k[3] for k in gold_keys | pred_keys}
        relation_groups = frequency_groups(relation_counts(train), seen_in, head_size, tail_size)
        for name, members in relation_groups.items():
            groups[name] = _score(gold_keys, pred_keys, lambda k, m=frozenset(members): k[3] in m)
        in_train = _count_in_train(gold, gold_keys & pred_keys, train_name_facts(train))
    return EvaluationReport(
        overall=_score(gold_keys, pred_keys), n_correct_in_train=in_train,
        per_relation=_per_relation(gold_keys, pred_keys),
        groups=groups, pair_detection=_pair_detection(gold, gold_keys, pred_keys), n_documents=len(gold),
        relation_groups=relation_groups)


def train_name_facts(train: Sequence[Document]) -> set[NameFact]:
    """DocRED's fact_in_train_annotated: every (head mention name, tail mention name, relation) of train labels."""
    out: set[NameFact] = set()
    for doc in train:
        for f in doc.facts or ():
            out.update((m.name, n.name, f.r) for m in doc.entities[f.h].mentions for n in doc.entities[f.t].mentions)
    return out


def relation_counts(train: Sequence[Document]) -> Counter[str]:
    """How often each relation is labelled in train: the basis of the head/mid/tail split."""
    return Counter(f.r for doc in train for f in doc.facts or ())


def frequency_groups(counts: Counter[str], relations: Iterable[str] = (), head_size: int = 10,
                     tail_size: int = 20) -> dict[str, tuple[str, ...]]:
    """Head = the head_size most frequent train relations, tail = the tail_size least frequent of the rest
    plus every relation absent from train (from `relations`), mid = what remains. Ties break by relation id."""
    seen = sorted((r for r in counts if counts[r] > 0), key=lambda r: (-counts[r], r))
    head, rest = seen[:head_size], seen[head_size:]
    cut = max(len(rest) - tail_size, 0)
    unseen = sorted(set(relations) - set(seen))
    return {"head": tuple(head), "mid": tuple(rest[:cut]), "tail": tuple(rest[cut:]) + tuple(unseen)}


def _gold_triples(doc: Document, index: int) -> set[Triple]:
    """Gold facts as a set; unlabelled documents cannot be scored."""
    if doc.facts is None:
        raise EvaluationError(f"gold document {index} ({doc.title!r}) has no labels; evaluate on labelled documents")
    return {(f.h, f.t, f.r) for f in doc.facts}


def _checked(doc: Document, index: int, preds: Iterable[Triple]) -> set[Triple]:
    """Predicted triples as a set, refusing entity indices the document does not have."""
    out: set[Triple] = set()
    n = len(doc.entities)
    for h, t, r in preds:
        if not (0 <= h < n and 0 <= t < n) or h == t:
            raise EvaluationError(f"prediction ({h}, {t}, {r!r}) for document {index} ({doc.title!r}): expected "
                                  f"two different entity indices in 0..{n - 1}; check the predictions are aligned")
        out.add((int(h), int(t), str(r)))
    return out


def _score(gold: set[Key], pred: set[Key], keep: Callable[[Key], bool] | None = None) -> PrecisionRecallF1:
    """Micro counts over the triples `keep` selects (all when None)."""
    if keep is not None:
        gold, pred = {k for k in gold if keep(k)}, {k for k in pred if keep(k)}
    return PrecisionRecallF1(len(gold & pred), len(pred), len(gold))


def _per_relation(gold: set[Key], pred: set[Key]) -> dict[str, PrecisionRecallF1]:
    """One PrecisionRecallF1 per relation that is gold or predicted anywhere."""
    g, p, c = (Counter(k[3] for k in keys) for keys in (gold, pred, gold & pred))
    return {r: PrecisionRecallF1(c[r], p[r], g[r]) for r in sorted(g.keys() | p.keys())}


def _count_in_train(gold: Sequence[Document], correct: set[Key], facts: set[NameFact]) -> int:
    """Correct triples whose entity pair, by any mention-name pair, is labelled with r in train."""
    def seen(k: Key) -> bool:
        ents = gold[k[0]].entities
        return any((m.name, n.name, k[3]) in facts for m in ents[k[1]].mentions for n in ents[k[2]].mentions)
    return sum(seen(k) for k in correct)


def _pair_detection(gold: Sequence[Document], gold_keys: set[Key], pred_keys: set[Key]) -> PairDetection:
    """Pair-level confusion counts; true negatives follow from the number of ordered pairs."""
    g = {k[:3] for k in gold_keys}
    p = {k[:3] for k in pred_keys}
    n_pairs = sum(len(d.entities) * (len(d.entities) - 1) for d in gold)
    score = PrecisionRecallF1(len(g & p), len(p), len(g))
    return PairDetection(score, n_pairs, n_agree=n_pairs - len(g ^ p))


def format_report(report: EvaluationReport, names: dict[str, str] | None = None) -> str:
    """A fixed-width table for the terminal: overall, groups, pair detection, then relations by support."""
    names = names or {}
    lines = [f"{report.n_documents} documents", _row("", ("P", "R", "F1"), ("gold", "pred")),
             _score_row("overall", report.overall)]
    if report.ign_f1 is not None:
        lines.append(_row(f"ign (seen in train: {report.n_correct_in_train})",
                          _pct(report.ign_precision, report.overall.recall, report.ign_f1), ()))
    for name, score in report.groups.items():
        size = report.relation_groups.get(name)
        lines.append(_score_row(name if size is None else f"{name} ({len(size)} rel.)", score))
    pd = report.pair_detection
    lines.append(_score_row("pair detection", pd.score) + f"   acc {100 * pd.accuracy:6.2f}")
    lines.append("per relation, by support")
    for r, score in sorted(report.per_relation.items(), key=lambda item: (-item[1].n_gold, item[0])):
        lines.append(_score_row(f"{r} {names[r]}" if r in names else r, score))
    return "\n".join(lines)


def _pct(*values: float | None) -> tuple[str, ...]:
    return tuple("-" if v is None else f"{100 * v:.2f}" for v in values)


def _score_row(label: str, s: PrecisionRecallF1) -> str:
    return _row(label, _pct(s.precision, s.recall, s.f1), (str(s.n_gold), str(s.n_pred)))


def _row(label: str, scores: tuple[str, ...], counts: tuple[str, ...]) -> str:
    label = label if len(label) <= 32 else label[:31] + "…"
    return f"{label:<32}" + "".join(f"{v:>8}" for v in scores) + "".join(f"{v:>7}" for v in counts)
