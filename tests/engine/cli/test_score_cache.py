"""engine.cli.score_cache: scores survive the .npz round trip exactly, and a cache hit never scores again."""
from __future__ import annotations

import numpy as np

import engine.cli.score_cache as cache
from engine.data.margin_calibration import MarginCalibration
from engine.data.pair_extras import MentionGrids, MentionPairGrid, PairValues
from engine.data.pair_scores import PairScores
from tests.engine.curate.synthetic import DOC, scores


def test_scores_round_trip_with_grids_and_potentials(tmp_path):
    ps = scores("D", 3, {(0, 1, "P131"): 2.0})
    grids = tuple(MentionPairGrid(np.full((1, k + 1), 0.25 * k, np.float32), np.full((1, k + 1, 3), 0.5, np.float32))
                  for k in range(len(ps.heads)))
    full = PairScores(ps.title, "kmgre.v1", ps.relation_ids, ps.heads, ps.tails, ps.logits, ps.probabilities,
                      ps.decoded,
                      extras={"pair_potential": PairValues("pair potential",
                                                           np.arange(len(ps.heads), dtype=np.float32)),
                                          "mention_grids": MentionGrids("key mention pairs", grids)},
                      calibration=MarginCalibration(0.5, -1.0, 3))
    cache.save_scores(full, tmp_path / "x.npz")
    back = cache.load_scores(tmp_path / "x.npz")
    assert (back.title, back.method, back.relation_ids) == (full.title, full.method, full.relation_ids)
    for name in ("heads", "tails", "logits", "probabilities", "decoded"):
        assert np.array_equal(getattr(back, name), getattr(full, name)), name
    assert np.array_equal(back.extra("pair_values").values, full.extra("pair_values").values)
    assert back.calibration == full.calibration
    assert all(np.array_equal(a.key_probability, b.key_probability)
               and np.array_equal(a.relation_probability, b.relation_probability)
               for a, b in zip(back.extra("mention_grids").grids, full.extra("mention_grids").grids))


def test_a_cache_hit_does_not_score(tmp_path, monkeypatch):
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text('{"method": "atlop.v1"}')
    calls = []

    def fake(checkpoints, docs, device=None, quiet=False, allow_download=None):
        calls.append(len(docs))
        return {"m": [scores(d.title, d.num_entities, {}) for d in docs]}

    monkeypatch.setattr("engine.cli.scoring.score_documents", fake)
    first = cache.cached_scores([model], [DOC], tmp_path / "c")
    again = cache.cached_scores([model], [DOC], tmp_path / "c")
    assert calls == [1] and np.array_equal(first["m"][0].logits, again["m"][0].logits)
    assert cache.document_key(DOC) == cache.document_key(DOC.__class__(DOC.title, DOC.sents, DOC.entities, ()))
