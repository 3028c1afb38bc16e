"""Which (head type, tail type) pairs each relation was labelled with in training: a suggestion whose entity
types were never seen with its relation is more likely a model error than a missing label.

The shipped assets/type_stats.json holds the statistics of the 400 Re-DocRED train documents the shipped models
learn from; without any statistics the type rule is neutral."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.data.documents import Document
from engine.errors import InputFileError

DEFAULT_TYPE_STATS = Path(__file__).resolve().parents[2] / "assets" / "type_stats.json"


@dataclass(frozen=True)
class TypeStats:
    """Which (head type, tail type) pairs each relation was labelled with in training, with counts."""

    counts: Mapping[str, Mapping[tuple[str, str], int]]
    source: str = ""

    @classmethod
    def from_documents(cls, documents: Iterable[Document], source: str = "") -> "TypeStats":
        counts: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
        for doc in documents:
            for fact in doc.facts or ():
                counts[fact.r][(doc.entities[fact.h].type, doc.entities[fact.t].type)] += 1
        return cls({r: dict(c) for r, c in counts.items()}, source)

    def fits(self, relation: str, head_type: str, tail_type: str) -> bool | None:
        """True/False when the relation was seen in training; None (neutral) when it never was."""
        seen = self.counts.get(relation)
        if not seen:
            return None
        return (head_type, tail_type) in seen

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source,
                "relations": {r: sorted([h, t, n] for (h, t), n in c.items()) for r, c in sorted(self.counts.items())}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "TypeStats":
        return cls({r: {(h, t): int(n) for h, t, n in rows} for r, rows in data["relations"].items()},
                   data.get("source", ""))

    @classmethod
    def load(cls, path: str | Path = DEFAULT_TYPE_STATS) -> "TypeStats":
        """Statistics saved with to_json (the shipped ones by default)."""
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputFileError(f"{path}: not a type statistics file ({exc}); "
                                 "make one with TypeStats.from_documents(...).to_json()") from None


def load_default_type_stats(path: str | Path = DEFAULT_TYPE_STATS) -> tuple[TypeStats | None, str | None]:
    """The shipped statistics, or (None, why) when the file is missing or unreadable: the type rule is then
    neutral. The CLI logs the reason and the app shows it; neither fails a scoring job over it."""
    path = Path(path)
    if not path.is_file():
        return None, f"no type statistics ({path} is missing): the type rule is neutral"
    try:
        return TypeStats.load(path), None
    except InputFileError as exc:
        return None, f"{exc}; the type rule is neutral"
