"""Which entities the Document page's matrix draws. Up to PAGE_FROM entities, all of them; over that, pages
of PAGE_SIZE entities, the first ones those that hold a prediction or a gold triple (in text order), the rest
after, and the current pair's two entities always in. A 540-entity text has 290,700 cells: drawn whole, the
figure took over a minute and could not be read (issue 25); a page draws about 3,500 cells, and only their
scores are turned into cells (`window_scores`)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.data.documents import Document
    from engine.data.pair_scores import PairScores

PAGE_FROM = 61  # "over about 60 entities": from this many, the matrix is paged
PAGE_SIZE = 60


@dataclass(frozen=True)
class MatrixWindow:
    """The entities one matrix draws (sorted), which page of how many that is, and how many of the candidates
    hold a prediction or a gold triple (they fill the first pages)."""

    entities: list[int]
    page: int  # 0-based
    pages: int
    predicted: int


def is_paged(n_entities: int) -> bool:
    return n_entities >= PAGE_FROM


def active_entities(doc: Document, scores: PairScores | None) -> set[int]:
    """Entities in a pair with a decoded relation or a gold triple."""
    rows = np.nonzero(scores.decoded.any(axis=1))[0] if scores is not None else np.zeros(0, dtype=np.int64)
    active = set(scores.heads[rows].tolist()) | set(scores.tails[rows].tolist()) if scores is not None else set()
    return active | {x for f in doc.facts or () for x in (f.h, f.t)}


def candidates(doc: Document, scores: PairScores | None, types: Sequence[str] = (),
               active_only: bool = False) -> list[int]:
    """The entities the pages run over, most telling first: those of the chosen types (all when none), the ones
    with a prediction or a gold triple first, each group in text order; only those with one when active_only."""
    typed = [e for e in range(doc.num_entities) if not types or doc.entities[e].type in types]
    active = active_entities(doc, scores)
    first = [e for e in typed if e in active]
    return first if active_only else first + [e for e in typed if e not in active]


def page_count(order: Sequence[int], page_size: int = PAGE_SIZE) -> int:
    return max(1, math.ceil(len(order) / page_size))


def matrix_window(doc: Document, scores: PairScores | None, order: Sequence[int], page: int = 0,
                  selected: tuple[int, int] | None = None, page_size: int = PAGE_SIZE) -> MatrixWindow:
    """Page `page` (clamped) of `order` (from `candidates`), with the selected pair's entities added, so the pair
    a page opens on, or one picked in the pair panel, is always in its matrix."""
    pages = page_count(order, page_size)
    page = min(max(page, 0), pages - 1)
    chosen = set(order[page * page_size:(page + 1) * page_size])
    if selected is not None and max(selected) < doc.num_entities:
        chosen |= set(selected)
    active = active_entities(doc, scores)
    return MatrixWindow(sorted(chosen), page, pages, sum(1 for e in order if e in active))


def opening_window(doc: Document, scores: PairScores | None,
                   selected: tuple[int, int] | None = None) -> MatrixWindow:
    """What the page opens on: the first page over every entity."""
    return matrix_window(doc, scores, candidates(doc, scores), 0, selected)


def window_scores(scores: PairScores, entities: Sequence[int]) -> PairScores:
    """Only the pairs between these entities (in their stored order), so cells are built for a page, not for
    every pair of the document."""
    keep = np.asarray(sorted(entities), dtype=np.int64)
    rows = np.nonzero(np.isin(scores.heads, keep) & np.isin(scores.tails, keep))[0]  # (n_shown_pairs,)
    return scores.take(rows)
