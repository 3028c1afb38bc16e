"""The budget check's inner split: 50 of the `train` titles as dev, never a `heldout` title, the same for a seed."""
from __future__ import annotations

import json
import sys

from tests.paths import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from budget_check import inner_split  # noqa: E402


def test_the_inner_split_deals_train_titles_only_and_is_fixed_by_its_seed(tmp_path) -> None:
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": [f"t{i}" for i in range(400)], "heldout": ["h0", "h1"]}))
    first = inner_split(split, 50, 0)
    assert len(first["inner_dev"]) == 50 and len(first["inner_train"]) == 350
    assert not set(first["inner_dev"]) & set(first["inner_train"])
    assert set(first["inner_dev"]) | set(first["inner_train"]) == {f"t{i}" for i in range(400)}
    assert inner_split(split, 50, 0) == first and inner_split(split, 50, 1) != first


def test_dev_f1_is_read_for_every_epoch_from_the_log() -> None:
    from budget_check import dev_f1_by_epoch

    log = ("INFO engine.train.trainer: epoch 1: {'f1': 0.5, 'ign_f1': 0.49, 'precision': 0.6, 'recall': 0.4}\n"
           "WARNING something else\nINFO engine.train.trainer: epoch 2: {'f1': 0.5512, 'precision': None}\n")
    assert dev_f1_by_epoch(log) == [50.0, 55.12]
