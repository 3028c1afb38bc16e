"""The one open slot for what a method says beyond logits: PAEE's pair potentials, KMGRE's mention-pair
grids, and any future extra. Each kind of extra knows how it serialises, how it splits per document and how
ensemble members merge it, so `PairScores`, the predictor, the ensemble and the app handle every extra
alike and never name a method. A method declares its extras (`MethodSpec.extras`) and builds them from its
forward pass's raw tensors (`RelationClassifier.collect_extras`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from engine.errors import InputFileError


class PairExtra:
    """One extra output: `values` cover every ordered pair of the document (or of a batch, before slicing)."""

    kind: ClassVar[str]
    label: str  # what the app calls it ("pair potential")

    def rows(self, start: int, stop: int) -> "PairExtra":
        """The pairs start..stop (one document out of a batch)."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "PairExtra":
        raise NotImplementedError

    @classmethod
    def merge(cls, members: Sequence["PairExtra"]) -> "PairExtra":
        """Ensemble members' values of the same extra as one."""
        raise NotImplementedError

    @classmethod
    def concat(cls, parts: Sequence["PairExtra"]) -> "PairExtra":
        """Consecutive chunks of pairs (chunked inference) as one."""
        raise NotImplementedError


@dataclass(frozen=True)
class PairValues(PairExtra):
    """One number per ordered pair in [0, 1] (PAEE's potential that a pair holds any relation)."""

    label: str
    values: np.ndarray  # (n_pairs,)
    kind: ClassVar[str] = "pair_values"

    def rows(self, start: int, stop: int) -> "PairValues":
        return PairValues(self.label, self.values[start:stop])

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "values": np.asarray(self.values).round(5).tolist()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "PairValues":
        return cls(str(data["label"]), np.asarray(data["values"], dtype=np.float32))

    @classmethod
    def concat(cls, parts: Sequence[PairExtra]) -> "PairValues":
        return cls(parts[0].label, np.concatenate([p.values for p in parts if isinstance(p, PairValues)]))

    @classmethod
    def merge(cls, members: Sequence[PairExtra]) -> "PairValues":
        """The mean over the members that have it (values are probabilities, so the mean stays one)."""
        values = [m.values for m in members if isinstance(m, PairValues)]
        return cls(members[0].label, np.mean(values, axis=0).astype(np.float32))


@dataclass(frozen=True)
class MentionPairGrid:
    """One entity pair seen mention by mention: per (head-entity mention, tail-entity mention) the
    key-instance probability and the mention-level relation probabilities. Indices index each entity's mentions."""

    key_probability: np.ndarray  # (n_head_mentions, n_tail_mentions)
    relation_probability: np.ndarray  # (n_head_mentions, n_tail_mentions, n_relations)

    def to_json(self) -> dict[str, Any]:
        return {"key_probability": self.key_probability.round(5).tolist(),
                "relation_probability": self.relation_probability.round(5).tolist()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "MentionPairGrid":
        return cls(np.asarray(data["key_probability"], dtype=np.float32),
                   np.asarray(data["relation_probability"], dtype=np.float32))


@dataclass(frozen=True)
class MentionGrids(PairExtra):
    """One `MentionPairGrid` per ordered pair (KMGRE's key mention pairs)."""

    label: str
    grids: tuple[MentionPairGrid, ...]
    kind: ClassVar[str] = "mention_grids"

    def rows(self, start: int, stop: int) -> "MentionGrids":
        return MentionGrids(self.label, self.grids[start:stop])

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "grids": [g.to_json() for g in self.grids]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "MentionGrids":
        return cls(str(data["label"]), tuple(MentionPairGrid.from_json(g) for g in data["grids"]))

    @classmethod
    def concat(cls, parts: Sequence[PairExtra]) -> "MentionGrids":
        return cls(parts[0].label, tuple(g for p in parts if isinstance(p, MentionGrids) for g in p.grids))

    @classmethod
    def merge(cls, members: Sequence[PairExtra]) -> "MentionGrids":
        """Grids of the same document have the same shapes: their element-wise mean."""
        grids = [m.grids for m in members if isinstance(m, MentionGrids)]
        merged = tuple(MentionPairGrid(np.mean([g[p].key_probability for g in grids], axis=0),
                                       np.mean([g[p].relation_probability for g in grids], axis=0))
                       for p in range(len(grids[0])))
        return cls(members[0].label, merged)


EXTRA_KINDS: dict[str, type[PairExtra]] = {k.kind: k for k in (PairValues, MentionGrids)}


def extras_to_json(extras: Mapping[str, PairExtra]) -> dict[str, Any]:
    return {key: {"kind": value.kind, **value.to_json()} for key, value in extras.items()}


def extras_from_json(data: Mapping[str, Any]) -> dict[str, PairExtra]:
    """The `extras` of a PairScores JSON (and the two legacy top-level keys); an unknown kind is an error."""
    out: dict[str, PairExtra] = {}
    for key, value in (data.get("extras") or {}).items():
        kind = EXTRA_KINDS.get(value.get("kind"))
        if kind is None:
            raise InputFileError(f"scores of {data.get('title')!r}: extra {key!r} has unknown kind "
                                 f"{value.get('kind')!r}; known kinds: {sorted(EXTRA_KINDS)}")
        out[key] = kind.from_json(value)
    if data.get("pair_potential") is not None:
        out["pair_potential"] = PairValues("pair potential", np.asarray(data["pair_potential"], dtype=np.float32))
    if data.get("mention_grids") is not None:
        out["mention_grids"] = MentionGrids("key mention pairs",
                                            tuple(MentionPairGrid.from_json(g) for g in data["mention_grids"]))
    return out


def merge_extras(members: Sequence[Mapping[str, PairExtra]]) -> dict[str, PairExtra]:
    """Per key, the merge of the members that have that extra (an ensemble of PAEE and ATLOP keeps PAEE's)."""
    keys = dict.fromkeys(k for m in members for k in m)
    return {k: type(first).merge([m[k] for m in members if k in m])
            for k in keys for first in [next(m[k] for m in members if k in m)]}


def concat_extras(chunks: Sequence[Mapping[str, PairExtra]]) -> dict[str, PairExtra]:
    """The extras of consecutive pair chunks as one set (every chunk has the same keys)."""
    if not chunks or not chunks[0]:
        return {}
    return {k: type(v).concat([c[k] for c in chunks]) for k, v in chunks[0].items()}
