"""A suggestion's support: why the models suggest a triple (each model's vote, the sentences naming both
entities, type fit, fired rules, KMGRE key mention pairs, and which ranking scored it).

Named apart from DocRED's `Fact.evidence` (the sentence ids a gold label rests on). A data type of its own, so
engine.curate builds it, the store keeps it and the app reads it as one typed value. Its JSON (the "evidence"
key of suggestion files and of stored suggestion sources, kept for the files and databases that exist) is read
back whatever older or partial form it has: a missing part gets its empty default."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class SupportError(ValueError):
    """A stored or uploaded support that cannot be read; the message names the field."""


@dataclass(frozen=True)
class ModelVote:
    """One model's view of a candidate: margin (logit - threshold) and the method's probability."""

    margin: float
    probability: float


@dataclass(frozen=True)
class KeyMentionPair:
    """A KMGRE key mention pair: mention indices within the head and tail entities, and where they are."""

    model: str
    head_mention: int
    tail_mention: int
    key_probability: float
    relation_probability: float | None
    head_sent_id: int
    head_pos: tuple[int, int]
    tail_sent_id: int
    tail_pos: tuple[int, int]

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "head_mention": self.head_mention, "tail_mention": self.tail_mention,
                "key_probability": round(self.key_probability, 5),
                "relation_probability": (None if self.relation_probability is None
                                         else round(self.relation_probability, 5)),
                "head": {"sent_id": self.head_sent_id, "pos": list(self.head_pos)},
                "tail": {"sent_id": self.tail_sent_id, "pos": list(self.tail_pos)}}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "KeyMentionPair":
        return cls(d["model"], d["head_mention"], d["tail_mention"], d["key_probability"], d["relation_probability"],
                   d["head"]["sent_id"], tuple(d["head"]["pos"]), d["tail"]["sent_id"], tuple(d["tail"]["pos"]))


@dataclass(frozen=True)
class Support:
    """Why a triple is suggested: every model's vote, shared sentences, type fit, fired rules, key mentions."""

    models: Mapping[str, ModelVote]
    agreeing_models: int
    sentences: tuple[int, ...]
    type_fit: bool | None
    rules: tuple[str, ...] = ()
    key_mention_pairs: tuple[KeyMentionPair, ...] = ()
    ranking: Mapping[str, Any] | None = None  # {"by": "ranker", "probability": ..., ...} or {"by": "formula", ...}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "models": {name: {"margin": round(v.margin, 4), "probability": round(v.probability, 5)}
                       for name, v in self.models.items()},
            "agreeing_models": self.agreeing_models, "sentences": list(self.sentences),
            "type_fit": self.type_fit, "rules": list(self.rules)}
        if self.key_mention_pairs:
            out["key_mention_pairs"] = [k.to_json() for k in self.key_mention_pairs]
        if self.ranking is not None:
            out["ranking"] = dict(self.ranking)
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Support":
        """Any form written so far: parts it lacks (rules, key mention pairs and the ranking note came later;
        hand-made imports may hold only sentences) are empty, agreeing_models is counted from the votes."""
        field = "support"
        try:
            if not isinstance(d, Mapping):
                raise TypeError(f"expected a JSON object, got {type(d).__name__}")
            field = "models"
            models = {str(name): ModelVote(float(v["margin"]), float(v["probability"]))
                      for name, v in (d.get("models") or {}).items()}
            field = "agreeing_models"
            agreeing = d.get("agreeing_models")
            agreeing = sum(v.margin > 0 for v in models.values()) if agreeing is None else int(agreeing)
            field = "sentences"
            sentences = tuple(int(s) for s in d.get("sentences") or ())
            field = "type_fit"
            type_fit = d.get("type_fit")
            if type_fit is not None and not isinstance(type_fit, bool):
                raise TypeError(f"expected true, false or null, got {type_fit!r}")
            field = "rules"
            rules = tuple(str(r) for r in d.get("rules") or ())
            field = "key_mention_pairs"
            pairs = tuple(KeyMentionPair.from_json(k) for k in d.get("key_mention_pairs") or ())
            field = "ranking"
            ranking = d.get("ranking")
            if ranking is not None and not isinstance(ranking, Mapping):
                raise TypeError(f"expected a JSON object, got {type(ranking).__name__}")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise SupportError(f"{field}: {detail}") from None
        return cls(models, agreeing, sentences, type_fit, rules, pairs, None if ranking is None else dict(ranking))


def stored_support(value: Mapping[str, Any] | None) -> Support | None:
    """The support a stored JSON value holds; None for none recorded (null or an empty object)."""
    return Support.from_json(value) if value else None
