"""engine.curate.candidate_features and queue against a hand-computed case."""
from __future__ import annotations

import math

import numpy as np
import pytest

from engine.curate.candidate_features import (
    Pool,
    document_candidates,
    feature_matrix,
    feature_names,
    slot_of,
    slots_of,
)
from engine.curate.queue import build_queue
from engine.curate.relation_stats import RelationStats
from engine.curate.type_stats import TypeStats
from tests.engine.curate.synthetic import DOC, TRAIN, scores

# two models of different families; every unspecified margin is -5
PAEE = {(0, 1, "P131"): 2.0, (0, 1, "P17"): 1.0, (1, 0, "P150"): 3.0}
ATLOP = {(0, 1, "P131"): -1.0, (0, 1, "P17"): 0.5}
SLOTS = slots_of(["atlop.v1", "kmgre.v2", "ncrl.v1", "paee.v1"])  # kmgre and ncrl: slots no model here fills


def sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def features_of(triple, **kw) -> dict[str, float]:
    per_model = {"a": scores("D", 3, ATLOP, "atlop.v1"), "p": scores("D", 3, PAEE, "paee.v1")}
    cands = document_candidates(DOC, per_model, slots=SLOTS, pool=Pool(band=0.0, top_k=0), **kw)
    row = cands.triples().index(triple)
    stats = RelationStats.from_documents([TRAIN], min_count=1, min_p=0.0)
    labels = {(f.h, f.t, f.r) for f in DOC.facts}
    x = feature_matrix(DOC, cands, labels, stats)[row]
    return dict(zip(feature_names(SLOTS), x.tolist()))


def test_feature_builder_matches_a_hand_computed_case():
    f = features_of((0, 1, "P131"), type_stats=TypeStats.from_documents([TRAIN]), missing_rates={"P131": 0.78})
    nan = float("nan")
    expected = {
        "margin:atlop": -1.0, "prob:atlop": sig(-1.0), "rank:atlop": 1,  # atlop's pair (0, 1): P17 0.5 > P131 -1
        "margin:paee": 2.0, "prob:paee": sig(2.0), "rank:paee": 0,
        "margin:kmgre": nan, "prob:kmgre": nan, "rank:kmgre": nan, "margin:ncrl": nan,  # no such model
        "n_scored": 2, "n_above": 1, "mean_margin": 0.5, "max_margin": 2.0, "min_margin": -1.0, "std_margin": 1.5,
        "mean_prob": (sig(-1.0) + sig(2.0)) / 2, "best_rank": 0,
        "pair_best_margin": 0.75, "gap_to_pair_best": -0.25,  # P17's mean (1 + 0.5) / 2 leads the pair
        "key_mention_max": nan, "pair_potential": nan,
        "head_type": 2, "tail_type": 2, "head_mentions": 1, "tail_mentions": 2,  # LOC = 2 in ENTITY_TYPES
        "same_sentence": 1, "sentence_distance": 0, "n_entities": 3,
        "type_fit": 1, "type_count": math.log1p(1), "relation_count": math.log1p(1),
        "relation": 27, "relation_missing_rate": 0.78,  # P131 is rel_info.json's 28th relation
        # (1, 0, P150) entails it: mean margin (3 - 5) / 2; the P131 chain through Marie: min(-5, -5)
        "reverse_rule_margin": -1.0, "chain_rule_margin": -5.0,
        "pair_labels": 0, "reverse_labels": 1, "reverse_same_relation": 0,
        "rule_inverse": 1, "rule_symmetric": 0, "rule_chain": 0,  # France contains Paris -> Paris in France
        "head_labels": 1, "tail_labels": 1, "head_same_relation": 0, "tail_same_relation": 0,
        "doc_relation_labels": 0, "doc_labels_per_entity": 1 / 3,
        # the mean margin predicts (0, 1, P131) and (0, 1, P17), neither labelled
        "doc_label_agreement": 0.0, "doc_unlabelled_predicted": 2 / 3,
        "head_unlabelled_predicted": 2, "tail_unlabelled_predicted": 2,
        "context_pair": 0.0, "context_reverse": 1 / 3, "context_chain": 0.0,  # P150 reversed: 1 of (1 + 2)
    }
    for name, value in expected.items():
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(f[name]), name
        else:
            assert f[name] == pytest.approx(value, abs=1e-4), name  # statistics are saved to 4 decimals


def test_rule_margins_are_missing_where_no_rule_applies():
    f = features_of((0, 1, "P17"))  # no inverse of P17; P131 > P17 through Marie: min(mean -5, mean -5)
    assert math.isnan(f["reverse_rule_margin"])
    assert f["chain_rule_margin"] == pytest.approx(-5.0)


def test_chain_rule_margin_is_the_weaker_link_through_the_best_entity():
    """(0, 1, P17) through Marie (2): paee's links (0, 2, P131) 3 and (2, 1, P17) 1, atlop's -5 and -5."""
    per_model = {"a": scores("D", 3, ATLOP, "atlop.v1"),
                 "p": scores("D", 3, {**PAEE, (0, 2, "P131"): 3.0, (2, 1, "P17"): 1.0}, "paee.v1")}
    cands = document_candidates(DOC, per_model, slots=SLOTS, pool=Pool(band=0.0, top_k=0))
    row = cands.triples().index((0, 1, "P17"))
    names = feature_names(SLOTS)
    x = feature_matrix(DOC, cands, {(f.h, f.t, f.r) for f in DOC.facts})[row]
    assert x[names.index("chain_rule_margin")] == pytest.approx(min((3 - 5) / 2, (1 - 5) / 2))


def test_pool_band_and_top_k_and_exclusions():
    per_model = {"p": scores("D", 3, PAEE, "paee.v1")}
    got = document_candidates(DOC, per_model, slots=SLOTS, pool=Pool(band=0.0, top_k=0)).triples()
    assert sorted(got) == [(0, 1, "P131"), (0, 1, "P17")]  # (1, 0, P150) is gold
    top1 = document_candidates(DOC, per_model, slots=SLOTS, pool=Pool(band=0.0, top_k=1)).triples()
    assert len(top1) == 2 + 4  # plus the best relation of each of the 4 pairs without one above threshold
    excl = document_candidates(DOC, per_model, slots=SLOTS, pool=Pool(band=0.0, top_k=0),
                               exclude=[(0, 1, "P17")]).triples()
    assert excl == [(0, 1, "P131")]


def test_two_models_of_one_family_are_averaged_and_slots_are_families():
    assert slot_of("paee.v1") == "paee"
    per_model = {"p#1": scores("D", 3, {(0, 1, "P131"): 2.0}, "paee.v1"),
                 "p#2": scores("D", 3, {(0, 1, "P131"): 1.0}, "paee.v1")}
    c = document_candidates(DOC, per_model, slots=SLOTS, pool=Pool(band=0.0, top_k=0))
    col = feature_names(SLOTS).index("margin:paee")
    assert c.static[c.triples().index((0, 1, "P131")), col] == pytest.approx(1.5)


def test_queue_features_follow_accepted_labels():
    queue = build_queue([DOC], {"p": [scores("D", 3, PAEE, "paee.v1")]}, pool=Pool(band=0.0, top_k=0))
    names = feature_names(queue.slots)
    before = queue.features()
    after = queue.features({"D": {(0, 1, "P17")}})
    row = queue.keys().index((0, 0, 1, "P131"))
    assert before[row, names.index("pair_labels")] == 0 and after[row, names.index("pair_labels")] == 1
    assert np.array_equal(before[:, :names.index("pair_labels")], after[:, :names.index("pair_labels")], equal_nan=True)
