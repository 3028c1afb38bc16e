"""bench/finetune_gain.py --smoke: one ledger record for the unchanged model and one per fold; a second run
with the ledger full trains nothing and prints the same tables; a missing fold record is all a rerun redoes."""
from __future__ import annotations

import sys

import pytest

from tests.paths import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import finetune_gain  # noqa: E402


def test_the_smoke_run_fills_the_ledger_and_a_rerun_does_only_what_it_lacks(tiny_models_dir, shared_data, tmp_path,
                                                                            capsys, monkeypatch) -> None:
    argv = ["--smoke", "--base", str(tiny_models_dir / "tiny"), "--data", str(shared_data), "--ledger",
            str(tmp_path / "ledger"), "--runs", str(tmp_path / "runs")]
    assert finetune_gain.main(argv) == 0
    first = capsys.readouterr().out
    records = sorted(p.name for p in (tmp_path / "ledger").glob("*.json"))
    assert len(records) == 3 and records[0].endswith("-base.json")  # base, fold0, fold1
    assert "| unchanged model |" in first and "| fine-tuned on the other folds' review |" in first
    assert "| formula (learned from no Revisit document) | fine-tuned on the other folds' review |" in first
    assert "Revisit, 6 documents in 2 of 2 held-out folds" in first
    trained = []
    real = finetune_gain.run_fold
    monkeypatch.setattr(finetune_gain, "run_fold", lambda *a, **k: (trained.append(a[1]), real(*a, **k)))
    assert finetune_gain.main(argv) == 0
    assert trained == [] and capsys.readouterr().out.split("ledger ")[1] == first.split("ledger ")[1]
    (tmp_path / "ledger" / records[2]).unlink()  # fold 1's record lost: only fold 1 runs again
    assert finetune_gain.main(argv) == 0
    assert trained == [1]


def test_f1_interval_and_precision_at_k_count_what_they_claim() -> None:
    rows = [[1, 2, 2], [0, 1, 1], [3, 3, 4]]  # tp, predicted, gold
    assert finetune_gain.f1(rows) == pytest.approx(2 * 4 / (6 + 7))
    low, high = finetune_gain.interval(rows)
    assert low <= finetune_gain.f1(rows) <= high
    items = [[0.9, True], [0.8, False], [0.7, True]]
    assert finetune_gain.at_k(items, 4, 2) == (0.5, 0.25)
    assert finetune_gain.at_k(items, 4, 10) == (2 / 3, 0.5)  # a shorter queue: precision over what it ranks


def test_the_review_rejects_what_its_budget_reaches_and_is_not_missing() -> None:
    items = [[0.9, True, "d", 0, 2, "P131"], [0.8, False, "d", 1, 0, "P27"], [0.1, False, "d", 2, 0, "P6"]]
    assert finetune_gain.rejected(items, 2) == {("d", 1, 0, "P27")}  # only what the budget reached
