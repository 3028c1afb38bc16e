"""Out-of-fold scoring splits: a labelled training set's own documents can be mined for missing labels
only by models that did not train on them (see engine.curate.suggestions)."""
from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import DocreError


class SuggestError(DocreError, ValueError):
    """Scores and documents do not line up, or a fold request cannot be met."""


@dataclass(frozen=True)
class Fold:
    """Fold `index` of out-of-fold scoring: train a model on `train`, score `heldout` with it."""

    index: int
    train: tuple[str, ...]
    heldout: tuple[str, ...]


def out_of_fold_folds(titles: Iterable[str], k: int, seed: int) -> list[Fold]:
    """k folds over the distinct titles (shuffled with `seed`, dealt round-robin): every title is held out once."""
    distinct = sorted(set(titles))
    if k < 2 or k > len(distinct):
        raise SuggestError(f"k must be between 2 and the number of distinct titles ({len(distinct)}), got {k}")
    random.Random(seed).shuffle(distinct)
    held = [sorted(distinct[i::k]) for i in range(k)]
    return [Fold(i, tuple(sorted(t for j, part in enumerate(held) if j != i for t in part)), tuple(held[i]))
            for i in range(k)]


def folds_to_split(folds: Sequence[Fold], seed: int | None = None) -> dict[str, Any]:
    """A split file for `--train-split FILE:train_i` and `suggest --folds FILE`: parts train_i and heldout_i."""
    out: dict[str, Any] = {"k": len(folds), "seed": seed,
                           "how": "engine.curate.suggestions.out_of_fold_folds: distinct titles sorted, shuffled with "
                                  "random.Random(seed), dealt round-robin into k held-out parts"}
    for fold in folds:
        out[f"train_{fold.index}"], out[f"heldout_{fold.index}"] = list(fold.train), list(fold.heldout)
    return out
