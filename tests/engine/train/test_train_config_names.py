"""The learning rate above the encoder is `lr_classifier` (the head -> classifier rename); checkpoints written
before it, the shipped ones included, keep loading, and `--lr-head` stays a hidden alias of the flag."""
from __future__ import annotations

import json

import pytest

from engine.cli.main import build_parser
from engine.config import TrainConfig
from engine.errors import ConfigError
from tests.paths import ROOT


def test_an_old_checkpoints_lr_head_is_read_as_lr_classifier() -> None:
    assert TrainConfig.from_json({"lr_head": 3e-4}).lr_classifier == 3e-4
    assert "lr_head" not in TrainConfig().to_json() and "lr_classifier" in TrainConfig().to_json()
    with pytest.raises(ConfigError, match="'lr_head' is the old name of 'lr_classifier'"):
        TrainConfig.from_json({"lr_head": 3e-4, "lr_classifier": 1e-4})


def test_the_shipped_checkpoints_settings_read_under_the_new_name() -> None:
    """What a resume compares: a run saved with `lr_head` is not "trained with other settings"."""
    shipped = [json.loads(p.read_text(encoding="utf-8"))["train_config"]
               for p in sorted((ROOT / "assets" / "models").glob("*/config.json"))]
    old = [saved for saved in shipped if "lr_head" in saved]
    assert old, "no shipped checkpoint saved under the old name is left to check"
    for saved in old:
        renamed = TrainConfig.with_new_names(saved)
        assert "lr_head" not in renamed and renamed["lr_classifier"] == saved["lr_head"]


def test_the_cli_flag_and_its_old_alias() -> None:
    parser = build_parser()
    base = ["train", "--method", "atlop", "--train", "t.json", "--output", "out"]
    assert parser.parse_args([*base, "--lr-classifier", "0.002"]).lr_classifier == 0.002
    assert parser.parse_args([*base, "--lr-head", "0.003"]).lr_classifier == 0.003
