"""engine.curate.ranker, feedback, decisions, calibration and yield estimates on synthetic documents whose
truth the tests choose, so that a ranker that ignored its input would fail them."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from engine.curate.candidate_features import FEATURE_VERSION, feature_names
from engine.curate.decisions import Decision, DecisionError, decisions_from_json, read_decisions
from engine.curate.feedback import decision_rows, learn_from_decisions, refit_with_decisions
from engine.curate.queue import build_queue, rank_pending
from engine.curate.ranker import DEFAULT_RANKER, Ranker, RankerError, fit_ranker
from engine.curate.ranker_calibration import expected_calibration_error, fit_isotonic, reliability_table
from engine.curate.ranker_data import TrainingRecipe, hide_labels, recipe_data
from engine.curate.suggestions import suggest
from engine.curate.yield_estimates import estimate_queue, expected_missing, expected_yield, reviews_to_find, yield_curve
from tests.engine.curate.ranker_support import FAST, POOL, base_ranker, complete, corpus


@pytest.fixture(scope="module")
def ranker() -> Ranker:
    return base_ranker()


def test_save_load_round_trip_gives_identical_probabilities(ranker, tmp_path):
    ranker.save(tmp_path / "r")
    assert {p.name for p in (tmp_path / "r").iterdir()} == {"ranker.json", "ranker.lgb.txt", "training.npz"}
    (tmp_path / "r" / "ranker.lgb.txt").read_text(encoding="utf-8")  # text, not a pickle
    back = Ranker.load(tmp_path / "r")
    X = ranker.training.features[:200]
    assert np.allclose(back.probability(X), ranker.probability(X))
    assert back.feature_names == ranker.feature_names and back.pool == POOL
    assert np.array_equal(back.training.labels, ranker.training.labels)


def test_a_bag_of_boosters_saves_as_text_and_loads_to_the_same_probabilities(ranker, tmp_path):
    """A bag averages its boosters' raw scores, saves one LightGBM text model each under format 2, a
    smaller ranker saved over it leaves none of the bag's extra boosters behind, and it refits as one."""
    bag = fit_ranker(ranker.training, slots=ranker.slots, pool=POOL, missing_rates={},
                     config=replace(FAST, n_models=3))
    assert len(bag.boosters) == 3
    X = ranker.training.features[:200]
    members = [b.predict(X, raw_score=True) for b in bag.boosters]
    assert np.allclose(bag.raw_score(X), np.mean(members, axis=0)) and not np.allclose(members[0], members[1])
    bag.save(tmp_path / "r")
    assert {p.name for p in (tmp_path / "r").iterdir()} == {"ranker.json", "ranker.lgb.txt", "ranker.1.lgb.txt",
                                                            "ranker.2.lgb.txt", "training.npz"}
    assert json.loads((tmp_path / "r" / "ranker.json").read_text())["format"] == 2
    back = Ranker.load(tmp_path / "r")
    assert len(back.boosters) == 3 and back.config.n_models == 3
    assert np.allclose(back.probability(X), bag.probability(X))
    ranker.save(tmp_path / "r")
    assert not list((tmp_path / "r").glob("ranker.*.lgb.txt"))
    assert len(Ranker.load(tmp_path / "r").boosters) == 1
    docs, sc = corpus(5, "bagrefit")  # a refit grows refit_models boosters (one): it must take seconds
    decisions = [Decision(docs[0].title, 0, 1, "P131", True), Decision(docs[0].title, 1, 2, "P17", False)]
    refitted = learn_from_decisions(docs, sc, decisions, ranker=back)
    assert len(refitted.boosters) == 1
    assert refitted.config.num_threads == back.config.refit_threads != back.config.num_threads  # waited for


def test_load_says_what_differs(ranker, tmp_path):
    ranker.save(tmp_path / "r")
    meta_path = tmp_path / "r" / "ranker.json"
    meta = json.loads(meta_path.read_text())
    meta["feature_names"] = meta["feature_names"][:-1] + ["made_up"]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(RankerError, match=r"missing \['context_chain'\]; unknown \['made_up'\]"):
        Ranker.load(tmp_path / "r")
    meta = json.loads(meta_path.read_text())
    meta["feature_names"] = feature_names(ranker.slots)
    meta["feature_version"] = 0
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(RankerError, match=f"feature version 0, this code builds version {FEATURE_VERSION}"):
        Ranker.load(tmp_path / "r")
    meta["feature_version"], meta["format"] = FEATURE_VERSION, 99
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(RankerError, match="format 99"):
        Ranker.load(tmp_path / "r")
    with pytest.raises(RankerError, match="train-ranker"):
        Ranker.load(tmp_path / "nowhere")


def test_refit_on_decisions_moves_accepted_like_items_up(ranker):
    """The annotator accepts every P131 and rejects every P17 on the first three pairs of each document;
    the base ranker cannot tell the two relations apart on the pairs left."""
    docs, sc = corpus(30, "review")
    queue = build_queue(docs, sc, pool=ranker.pool, missing_rates=ranker.missing_rates)
    keys = queue.keys()
    decisions = [Decision(docs[i].title, h, t, r, r == "P131") for i, h, t, r in keys if h < 3]

    def mean_prob(rk: Ranker, relation: str) -> float:
        ranked = rank_pending(queue, rk, decisions)
        return float(np.mean([p for row, p in zip(ranked.rows, ranked.probabilities) if keys[row][3] == relation]))

    assert mean_prob(ranker, "P131") == pytest.approx(mean_prob(ranker, "P17"), abs=0.02)  # alike before
    refit = learn_from_decisions(docs, sc, decisions, ranker=ranker, queue=queue)
    assert refit.info["decisions"] == len(decisions) and refit.training is ranker.training
    assert mean_prob(refit, "P131") > mean_prob(refit, "P17") + 0.2
    position = {keys[row]: n for n, row in enumerate(rank_pending(queue, refit, decisions).rows)}
    pairs = {(i, h, t) for i, h, t, _ in position}
    ahead = [position[(i, h, t, "P131")] < position[(i, h, t, "P17")] for i, h, t in pairs]
    # on each pending pair (one margin for both), P131 now comes first on most: about half without the refit
    assert sum(ahead) >= 0.8 * len(ahead)


def test_decided_triples_never_come_back(ranker):
    docs, sc = corpus(3, "q")
    all_keys = {(s.title, s.h, s.t, s.r) for s in suggest(docs, sc, ranker=ranker)}
    chosen = sorted(all_keys)[:4]
    decisions = [Decision(t, h, tt, r, k % 2 == 0) for k, (t, h, tt, r) in enumerate(chosen)]
    for rk in (ranker, None):  # the learned ranker and the formula
        got = {(s.title, s.h, s.t, s.r) for s in suggest(docs, sc, ranker=rk, decisions=decisions, band=3.0)}
        assert got and not got & set(chosen)
    refit = learn_from_decisions(docs, sc, decisions, ranker=ranker)
    got = {(s.title, s.h, s.t, s.r) for s in suggest(docs, sc, ranker=refit, decisions=decisions)}
    assert not got & set(chosen) and got == all_keys - set(chosen)


def test_ranker_scores_are_probabilities_with_provenance(ranker):
    docs, sc = corpus(2, "p")
    out = suggest(docs, sc, ranker=ranker, limit=5)
    assert len(out) == 5 and all(0.0 <= s.ranking_score <= 1.0 for s in out)
    assert [s.ranking_score for s in out] == sorted((s.ranking_score for s in out), reverse=True)
    assert out[0].support.ranking["by"] == "ranker"
    assert out[0].support.ranking["probability"] == pytest.approx(out[0].ranking_score, abs=1e-5)
    assert set(out[0].support.models) == {"paee"}
    formula = suggest(docs, sc, limit=5)
    assert formula[0].support.ranking["by"] == "formula"


def test_decision_rows_see_an_accepted_triple_as_not_yet_labelled(ranker):
    docs, sc = corpus(1, "one")
    queue = build_queue(docs, sc, pool=ranker.pool)
    h, t, r = queue.candidates[0].triples()[0]
    rows = decision_rows(queue, [Decision(docs[0].title, h, t, r, True)])
    col = feature_names(ranker.slots).index("pair_labels")
    assert rows.labels.tolist() == [1] and rows.features[0, col] == 0
    assert refit_with_decisions(ranker, decision_rows(queue, [])) is ranker  # nothing to learn


def test_decisions_reader_splits_corrections_and_keeps_the_last_verdict(tmp_path):
    items = [{"title": "D", "h_idx": 0, "t_idx": 1, "r": "P17", "decision": "reject"},
             {"title": "D", "h_idx": 0, "t_idx": 1, "r": "P17", "decision": "accept"},
             {"title": "D", "h_idx": 2, "t_idx": 1, "r": "P131", "decision": "accept", "relation": "P17"},
             {"title": "D", "h_idx": 1, "t_idx": 2, "r": "P131", "decision": "skip"}]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(items))
    got = read_decisions(path)
    assert got == [Decision("D", 0, 1, "P17", True), Decision("D", 2, 1, "P131", False),
                   Decision("D", 2, 1, "P17", True)]
    assert decisions_from_json([d.to_json() for d in got]) == got
    with pytest.raises(DecisionError, match=r"decisions\[0\]: missing field 'r'"):
        decisions_from_json([{"title": "D", "h_idx": 0, "t_idx": 1, "decision": "accept"}])
    with pytest.raises(DecisionError, match="'accept', 'reject' or 'skip'"):
        decisions_from_json([{"title": "D", "h_idx": 0, "t_idx": 1, "r": "P17", "decision": "maybe"}])


def test_isotonic_calibration_is_monotone_and_calibrated():
    rng = np.random.default_rng(0)
    raw = rng.normal(size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-2 * raw))).astype(float)
    cal = fit_isotonic(raw, y)
    p = cal(raw)
    assert np.all(np.diff(cal(np.sort(raw))) >= 0) and 0 < p.min() and p.max() < 1
    assert expected_calibration_error(p, y) < 0.03
    assert expected_calibration_error(np.full(4000, 0.9), y) > 0.3
    assert sum(b.count for b in reliability_table(p, y)) == 4000


def test_yield_estimates_are_sums_of_probabilities():
    p = np.array([0.1, 0.9, 0.5, 0.5, 0.0])
    assert expected_missing(p) == pytest.approx(2.0)
    assert expected_yield(p, 2) == pytest.approx(1.4)
    assert yield_curve(p, 2) == pytest.approx([1.4, 0.6, 0.0])
    assert reviews_to_find(p, 0.5) == 2 and reviews_to_find(p, 1.0) == 4 and reviews_to_find(np.zeros(3), 0.5) is None
    est = estimate_queue(p, next_n=2, min_yield=1.5)
    assert (est.pending, est.worth_continuing) == (5, False) and "fewer than" in est.reason
    assert estimate_queue(p, next_n=3, min_yield=1.5).worth_continuing


def test_shipped_ranker_loads_with_its_training_rows():
    if not (DEFAULT_RANKER / "ranker.json").is_file():
        pytest.skip("no shipped ranker")
    shipped = Ranker.load()
    assert shipped.slots == ("atlop", "kmgre", "ncrl", "paee") and shipped.training is not None
    assert shipped.feature_names == feature_names(shipped.slots)
    assert "real label pairs" in shipped.info["trained_on"]


def test_recipe_keeps_every_negative_and_refits_start_from_fewer():
    """The ranker learns from every negative (down-sampling cost recall); the rows kept for refits are
    down-sampled so a refit stays fast, each kept negative weighted up so the weighted counts stay about
    those of the full pool."""
    docs, sc = corpus(30, "rec")
    full = complete(docs, sc, lambda m, r: m > 0.5)
    recipe = TrainingRecipe(pool=POOL, refit_neg_ratio=0.3)
    data, _ = recipe_data(docs, full, sc, [], {}, recipe=recipe)
    every = build_queue(docs, sc, pool=POOL)
    assert len(data) == len(every) and np.all(data.weights == 1)
    kept = recipe.refit_rows(data)
    assert kept.labels.sum() == data.labels.sum() and len(kept) < len(data)
    assert np.all(kept.weights[kept.labels == 1] == 1) and np.all(kept.weights[kept.labels == 0] > 2)


def test_simulated_draws_hide_different_triples_and_keep_the_simulated_weight():
    """Each draw hides its own triples of the same documents (seeds 0, 1, 2); together the draws weigh what
    one draw does, so more draws add patterns of missingness, not weight against the real rows."""
    docs, sc = corpus(12, "draw")
    full = complete(docs, sc, lambda m, r: m > 0.0)
    draws = [recipe_data([], [], {}, full, sc, recipe=TrainingRecipe(pool=POOL, hide=0.5, seed=s))[0] for s in range(3)]
    three, _ = recipe_data([], [], {}, full, sc, recipe=TrainingRecipe(pool=POOL, hide=0.5, sim_draws=3))
    kept = [tuple(d.facts for d in hide_labels(full, 0.5, s)) for s in range(3)]
    assert len(set(kept)) == 3  # the seeds hide different triples
    assert len(three) == sum(len(d) for d in draws)
    assert np.array_equal(three.labels, np.concatenate([d.labels for d in draws]))
    assert np.array_equal(three.features, np.concatenate([d.features for d in draws]), equal_nan=True)
    assert np.allclose(three.weights, 0.5 / 3) and np.allclose(draws[0].weights, 0.5)
