"""Annotators' decisions on suggested triples, read from plain dicts or a JSON file.

The file is a JSON list of {"title", "h_idx", "t_idx", "r", "decision": "accept" | "reject"}. A corrected
relation (the annotator accepts the pair with another relation, as db's reviews store it: "decision":
"accept" with "relation" naming the correction) counts as a reject of the suggested relation and an
accept of the new one. "skip" decides nothing. When one triple is decided twice, the later entry wins."""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.data.documents import Triple
from engine.errors import InputFileError

VERDICTS = ("accept", "reject")


class DecisionError(InputFileError):
    """A decision entry is malformed; the message names its position and the field."""


@dataclass(frozen=True)
class Decision:
    """One verdict: `accept` means (h, t, r) is a missing label of document `title`; reject means it is not."""

    title: str
    h: int
    t: int
    r: str
    accept: bool

    @property
    def triple(self) -> Triple:
        return (self.h, self.t, self.r)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "h_idx": self.h, "t_idx": self.t, "r": self.r,
                "decision": "accept" if self.accept else "reject"}


def decisions_from_json(items: Iterable[Mapping[str, Any]], source: str = "decisions") -> list[Decision]:
    """Decisions from dicts (see the module docstring), corrections split in two, the last verdict per triple."""
    latest: dict[tuple[str, int, int, str], Decision] = {}
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise DecisionError(f"{source}[{i}]: expected an object with title, h_idx, t_idx, r, decision; "
                                f"got {type(item).__name__}")
        try:
            title, h, t, r, verdict = item["title"], item["h_idx"], item["t_idx"], item["r"], item["decision"]
        except KeyError as exc:
            raise DecisionError(f"{source}[{i}]: missing field {exc.args[0]!r} (each decision needs title, h_idx, "
                                "t_idx, r and decision)") from None
        if not (isinstance(h, int) and isinstance(t, int) and isinstance(title, str) and isinstance(r, str)):
            raise DecisionError(f"{source}[{i}]: title and r must be strings, h_idx and t_idx integers; got {item!r}")
        if verdict == "skip":
            continue
        if verdict not in VERDICTS:
            raise DecisionError(f"{source}[{i}]: decision must be 'accept', 'reject' or 'skip', got {verdict!r}")
        corrected = item.get("relation")
        if verdict == "accept" and corrected and corrected != r:
            found = [Decision(title, h, t, r, False), Decision(title, h, t, str(corrected), True)]
        else:
            found = [Decision(title, h, t, r, verdict == "accept")]
        for d in found:
            latest.pop((d.title, d.h, d.t, d.r), None)  # re-insert: the dict's order is the order of last decisions
            latest[(d.title, d.h, d.t, d.r)] = d
    return list(latest.values())


def read_decisions(path: str | Path) -> list[Decision]:
    """Decisions of a JSON file (a list of decision objects)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DecisionError(f"{path}: not a JSON decisions file ({exc}); expected a list of "
                            '{"title", "h_idx", "t_idx", "r", "decision"} objects') from None
    if not isinstance(data, list):
        raise DecisionError(f"{path}: expected a JSON list of decisions, got {type(data).__name__}")
    return decisions_from_json(data, str(path))


def by_title(decisions: Iterable[Decision], accepted: bool | None = None) -> dict[str, set[Triple]]:
    """Decided triples per document title: all of them, or only the accepted (True) or rejected (False)."""
    out: dict[str, set[Triple]] = {}
    for d in decisions:
        if accepted is None or d.accept == accepted:
            out.setdefault(d.title, set()).add(d.triple)
    return out
