"""Ensembles: the mean calibrated probability per pair and relation against the members' decision boundary;
members must agree on pairs and schema."""
import json

import numpy as np
import pytest
import torch

from engine.cli.main import main
from engine.config import EncoderConfig
from engine.data.documents import write_documents
from engine.data.pair_extras import PairValues
from engine.data.pair_scores import PairScores
from engine.data.schema import default_schema
from engine.errors import CheckpointError
from engine.model.checkpoint import build_model, save_checkpoint
from engine.model.methods import get_method
from engine.serve.ensemble import combine_scores


def _scores(method: str, logits: list[list[float]], potential=None) -> PairScores:
    logits = np.asarray(logits, dtype=np.float32)
    return PairScores(title="d", method=method, relation_ids=("P1", "P2"), heads=np.array([0, 1]),
                      tails=np.array([1, 0]),
                      logits=logits, probabilities=np.zeros_like(logits), decoded=np.zeros((2, 2), bool),
                      extras={} if potential is None else {
                          "pair_potential": PairValues("pair potential", np.asarray(potential, np.float32))})


def test_mean_probability_decides_and_is_hand_computed():
    """Without calibrations: the mean of sigmoid(margin) against 0.5."""
    a = _scores("atlop.v1", [[1.0, 3.0, 0.0], [0.0, -1.0, 0.5]], potential=[0.2, 0.8])  # margins [2,-1], [-1,0.5]
    b = _scores("paee.v1", [[2.0, 1.0, 2.5], [1.0, 0.0, 0.0]])  # margins [-1,0.5], [-1,-1]
    out = combine_scores([a, b], top_k=4)
    # s(2) = 0.880797, s(-1) = 0.268941, s(0.5) = 0.622459: means 0.574869, 0.445700, 0.268941, 0.445700
    np.testing.assert_allclose(out.calibrated_probabilities(), [[0.574869, 0.445700], [0.268941, 0.445700]], atol=1e-6)
    # margins logit(p) - logit(0.5): ln(0.574869 / 0.425131) = 0.301737, ln(0.4457 / 0.5543) = -0.218058
    np.testing.assert_allclose(out.margins, [[0.301737, -0.218058], [-1.0, -0.218058]], atol=1e-5)
    assert out.decoded.tolist() == [[True, False], [False, False]]
    assert out.method == "ensemble(atlop.v1+paee.v1)"
    np.testing.assert_allclose(out.threshold, 0.0)
    # only members that have potentials count
    np.testing.assert_allclose(out.extras["pair_potential"].values, [0.2, 0.8])


def test_calibrations_make_members_comparable():
    """a: p = s(2m - 1), b: p = s(0.5m). Pair 1, relation 2 has mean margin (0.5 - 1) / 2 = -0.25, which the
    raw mean-margin rule rejected; calibrated, a says s(0) = 0.5 and b s(-0.5) = 0.377541, mean 0.438770,
    above the members' mean decision probability (s(-1) + s(0)) / 2 = 0.384471: predicted."""
    from dataclasses import replace

    from engine.data.margin_calibration import MarginCalibration

    a = replace(_scores("atlop.v1", [[1.0, 3.0, 0.0], [0.0, -1.0, 0.5]]), calibration=MarginCalibration(2.0, -1.0, 10))
    b = replace(_scores("p3m.v1", [[2.0, 1.0, 2.5], [1.0, 0.0, 0.0]]), calibration=MarginCalibration(0.5, 0.0, 10))
    out = combine_scores([a, b], top_k=4)
    np.testing.assert_allclose(out.calibrated_probabilities(), [[0.665057, 0.304801], [0.212483, 0.438770]], atol=1e-6)
    np.testing.assert_allclose(out.margins, [[1.156529, -0.353923], [-0.839406, 0.224461]], atol=1e-5)
    assert out.decoded.tolist() == [[True, False], [False, True]]
    assert out.calibration.decision_probability == pytest.approx(0.384471, abs=1e-6)


def test_members_scoring_different_pairs_are_refused():
    a = _scores("atlop.v1", [[0, 0, 0], [0, 0, 0]])
    b = PairScores(title="d", method="x", relation_ids=("P1", "P2"), heads=np.array([1, 0]), tails=np.array([0, 1]),
                   logits=a.logits, probabilities=a.probabilities, decoded=a.decoded)
    with pytest.raises(CheckpointError, match="disagree on document 'd'"):
        combine_scores([a, b])


def test_cli_evaluates_and_predicts_with_several_checkpoints(redocred_docs, tiny_encoder_dir, tmp_path, capsys):
    docs = [d for d in redocred_docs if len(d.entities) <= 10][:2]
    write_documents(docs, tmp_path / "docs.json")
    paths = []
    for i, method in enumerate(("atlop", "ncrl")):
        torch.manual_seed(i)
        loaded = build_model(method, get_method(method).config_class(emb_size=32, block_size=8),
                             EncoderConfig(name=str(tiny_encoder_dir)), default_schema())
        paths.append(str(save_checkpoint(loaded, tmp_path / method)))
    assert main(["--quiet", "predict", "--checkpoint", *paths, "--input", str(tmp_path / "docs.json"),
                 "--output", str(tmp_path / "p.json"), "--scores-output", str(tmp_path / "s.json")]) == 0
    scores = [PairScores.from_json(s) for s in json.loads((tmp_path / "s.json").read_text())]
    assert [s.method for s in scores] == ["ensemble(atlop.v1+ncrl.v1)"] * 2
    np.testing.assert_allclose(scores[0].threshold, 0.0)
    capsys.readouterr()
    assert main(["--quiet", "evaluate", "--checkpoint", *paths, "--input", str(tmp_path / "docs.json")]) == 0
    assert "overall" in capsys.readouterr().out
