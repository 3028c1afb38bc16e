"""The relation schema: relation ids and names, index 0 = the "no relation" threshold class (Na).

It travels inside every checkpoint, so a model is never applied to labels it was not trained on."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import SchemaError

NA_RELATION = "Na"
DEFAULT_REL_INFO = Path(__file__).resolve().parents[2] / "assets" / "rel_info.json"


@dataclass(frozen=True)
class RelationSchema:
    """Ordered relation ids; class index i + 1 is relation_ids[i], class 0 is the threshold (Na)."""

    relation_ids: tuple[str, ...]
    names: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if len(set(self.relation_ids)) != len(self.relation_ids):
            raise SchemaError("relation ids must be unique")
        if NA_RELATION in self.relation_ids:
            raise SchemaError(f"{NA_RELATION!r} is the implicit threshold class; do not list it")
        object.__setattr__(self, "_index", {r: i + 1 for i, r in enumerate(self.relation_ids)})

    @property
    def num_classes(self) -> int:
        """Relations plus the threshold class."""
        return len(self.relation_ids) + 1

    @property
    def num_relations(self) -> int:
        return len(self.relation_ids)

    def __contains__(self, relation_id: object) -> bool:
        return relation_id in self._index  # type: ignore[attr-defined]

    def index(self, relation_id: str) -> int:
        """Class index (1-based; 0 is Na) of a relation id."""
        try:
            return self._index[relation_id]  # type: ignore[attr-defined]
        except KeyError:
            raise SchemaError(f"unknown relation id {relation_id!r}; "
                              f"known ids look like {self.relation_ids[:3]}") from None

    def relation(self, class_index: int) -> str:
        """Relation id of a class index (0 -> Na)."""
        return NA_RELATION if class_index == 0 else self.relation_ids[class_index - 1]

    def name(self, relation_id: str) -> str:
        return self.names.get(relation_id, relation_id)

    def to_json(self) -> dict:
        return {"relation_ids": list(self.relation_ids), "names": dict(self.names)}

    @classmethod
    def from_json(cls, data: dict) -> "RelationSchema":
        return cls(tuple(data["relation_ids"]), dict(data.get("names", {})))

    @classmethod
    def from_rel_info(cls, path: str | Path = DEFAULT_REL_INFO) -> "RelationSchema":
        """DocRED's rel_info.json ({"P17": "country", ...}), in file order."""
        names = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(tuple(names), names)


def default_schema() -> RelationSchema:
    """The 96 DocRED relations shipped in assets/rel_info.json."""
    return RelationSchema.from_rel_info()
