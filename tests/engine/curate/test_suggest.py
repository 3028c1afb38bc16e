"""engine.curate.suggestions, engine.curate.relation_logic and the suggest/folds commands, against hand-computed
values."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from engine.cli.suggest import add_suggest_command, discover_models
from engine.curate.relation_logic import RuleIndex
from engine.curate.suggestions import (
    ScoreWeights,
    SuggestError,
    Suggestion,
    TypeStats,
    folds_to_split,
    out_of_fold_folds,
    suggest,
)
from engine.data.documents import Document, write_documents
from engine.data.pair_extras import MentionGrids, MentionPairGrid
from engine.data.pair_scores import PairScores
from engine.errors import CheckpointError
from tests.engine.curate.synthetic import DOC, RELS, TRAIN, ent  # noqa: F401 - the shared toy documents


def scores(title: str, n_e: int, margins: dict[tuple[int, int, str], float], grids: bool = False) -> PairScores:
    """Threshold logit 0 everywhere, so a relation's logit is its margin; unspecified margins are -5."""
    hs, ts = np.nonzero(~np.eye(n_e, dtype=bool))
    logits = np.full((len(hs), len(RELS) + 1), -5.0, dtype=np.float32)
    logits[:, 0] = 0.0
    for (h, t, r), m in margins.items():
        logits[[p for p, (a, b) in enumerate(zip(hs, ts)) if (a, b) == (h, t)][0], 1 + RELS.index(r)] = m
    probs = 1 / (1 + np.exp(-logits))
    extras = {}
    if grids:  # every pair gets a grid; (Paris, France) is 1 x 2 with the key on France's second mention
        extras["mention_grids"] = MentionGrids("key mention pairs", tuple(
            MentionPairGrid(np.array([[0.2, 0.9]] if (a, b) == (0, 1) else [[0.5]], dtype=np.float32),
                            np.full((1, 2 if (a, b) == (0, 1) else 1, len(RELS)), 0.7, dtype=np.float32))
            for a, b in zip(hs, ts)))
    return PairScores(title, "atlop.v1", RELS, hs, ts, logits, probs, logits[:, 1:] > 0, extras=extras)


MODEL_A = {(0, 1, "P131"): 2.0, (0, 1, "P17"): 1.0, (2, 1, "P17"): -0.5, (1, 0, "P150"): 3.0, (2, 0, "P131"): -1.5}
MODEL_B = {(0, 1, "P131"): -1.0, (0, 1, "P17"): 0.5, (2, 1, "P17"): -3.0}
# sigmoid: s(2) = 0.8807971, s(-1) = 0.2689414, s(1) = 0.7310586, s(0.5) = 0.6224593, s(-0.5) = 0.3775407,
# s(-3) = 0.0474259
SCORE_P131 = (0.8807971 + 0.2689414) / 2 + 0.25 * 1 / 2 + 0.5  # 1 of 2 agree, inverse:P150 fires = 1.1998692
SCORE_P17 = (0.7310586 + 0.6224593) / 2 + 0.25 * 2 / 2  # both agree, types fit = 0.9267590
SCORE_MARIE = (0.3775407 + 0.0474259) / 2 - 0.3  # none agree, PER -> LOC never seen with P17 = -0.0875167


def run(**kw) -> list[Suggestion]:
    return suggest([DOC], {"a": [scores("D", 3, MODEL_A)], "b": [scores("D", 3, MODEL_B)]},
                   type_stats=TypeStats.from_documents([TRAIN]), **kw)


def test_ranking_scores_and_evidence_match_hand_computation():
    out = run()
    assert [(s.h, s.t, s.r) for s in out] == [(0, 1, "P131"), (0, 1, "P17"), (2, 1, "P17")]
    assert [s.ranking_score for s in out] == pytest.approx([SCORE_P131, SCORE_P17, SCORE_MARIE], abs=1e-6)
    top = out[0].support
    assert top.models["a"].margin == pytest.approx(2.0) and top.models["b"].margin == pytest.approx(-1.0)
    assert top.models["a"].probability == pytest.approx(0.8807971, abs=1e-6)
    assert (top.agreeing_models, top.sentences, top.type_fit, top.rules) == (1, (0,), True, ("inverse:P150",))
    marie = out[2].support
    assert (marie.agreeing_models, marie.sentences, marie.type_fit, marie.rules) == (0, (1,), False, ())
    assert all(s.support.key_mention_pairs == () for s in out)


def test_gold_triple_is_never_suggested_even_with_the_highest_margin():
    assert (1, 0, "P150") not in {(s.h, s.t, s.r) for s in run(band=100.0)}


def test_band_decides_how_far_below_the_threshold_candidates_reach():
    assert [(s.h, s.t, s.r) for s in run(band=0.0)] == [(0, 1, "P131"), (0, 1, "P17")]
    # band 2 reaches (Marie, Paris, P131) at -1.5; every other triple is at -5
    assert (2, 0, "P131") in {(s.h, s.t, s.r) for s in run(band=2.0)}
    assert len(run(band=2.0)) == 4
    assert len(run(limit=1)) == 1
    with pytest.raises(SuggestError):
        run(band=-1.0)


def test_one_model_without_types_or_rules_keeps_its_margin_order():
    doc = Document("D", DOC.sents, DOC.entities, ())  # no gold, so no rule can fire
    margins = {(0, 1, "P17"): 0.3, (1, 0, "P17"): -0.2, (2, 1, "P131"): 1.7, (1, 2, "P150"): -0.9}
    out = suggest([doc], {"a": [scores("D", 3, margins)]})
    assert [(s.h, s.t, s.r) for s in out] == [(2, 1, "P131"), (0, 1, "P17"), (1, 0, "P17"), (1, 2, "P150")]
    assert out[1].ranking_score == pytest.approx(0.5744425 + 0.25, abs=1e-6)  # s(0.3) + agreement of 1 / 1


def test_custom_weights_change_the_score():
    out = run(weights=ScoreWeights(agree=0.0, type_penalty=0.0, logic=0.0))
    assert [s.ranking_score for s in out] == pytest.approx([0.6767590, 0.5748692, 0.2124833], abs=1e-6)
    assert out[0].r == "P17"  # without the bonuses the unanimous P17 comes first


def test_a_model_that_did_not_score_a_document_does_not_vote():
    out = suggest([DOC], {"a": [scores("D", 3, MODEL_A)], "b": [None]}, type_stats=None)
    top = out[0]
    assert (top.r, set(top.support.models), top.support.type_fit) == ("P131", {"a"}, None)
    assert top.ranking_score == pytest.approx(0.8807971 + 0.25 + 0.5, abs=1e-6)


def test_unlabelled_documents_are_skipped_and_misaligned_scores_refused():
    unlabelled = Document("U", DOC.sents, DOC.entities, None)
    assert suggest([unlabelled], {"a": [scores("U", 3, MODEL_A)]}) == []
    with pytest.raises(SuggestError, match="document 'D' was expected"):
        suggest([DOC], {"a": [scores("other", 3, MODEL_A)]})
    with pytest.raises(SuggestError, match="2 documents"):
        suggest([DOC], {"a": [scores("D", 3, MODEL_A)] * 2})
    with pytest.raises(SuggestError, match="3 entities"):
        suggest([DOC], {"a": [scores("D", 4, MODEL_A)]})


def test_key_mention_pairs_come_from_mention_grids_best_first():
    out = suggest([DOC], {"k": [scores("D", 3, MODEL_A, grids=True)]}, band=0.0)
    pairs = out[0].support.key_mention_pairs  # (Paris, France, P131)
    assert [(k.head_mention, k.tail_mention) for k in pairs] == [(0, 1), (0, 0)]
    assert pairs[0].key_probability == pytest.approx(0.9) and pairs[0].relation_probability == pytest.approx(0.7)
    assert (pairs[0].head_sent_id, pairs[0].head_pos, pairs[0].tail_sent_id, pairs[0].tail_pos) == (0, (0, 1), 1,
                                                                                                    (2, 3))


def test_suggestion_json_round_trip():
    for s in run() + suggest([DOC], {"k": [scores("D", 3, MODEL_A, grids=True)]}):
        data = json.loads(json.dumps(s.to_json()))
        assert set(data) == {"title", "h_idx", "t_idx", "r", "score", "evidence"}
        back = Suggestion.from_json(data)
        assert back == s and back.to_json() == data  # JSON rounds margins and probabilities once
        assert back.support.rules == s.support.rules
        assert len(back.support.key_mention_pairs) == len(s.support.key_mention_pairs)


def test_relation_logic_rules():
    types = ("LOC", "LOC", "LOC", "PER", "PER", "ORG")
    labels = [(1, 0, "P150"), (0, 1, "P131"), (1, 2, "P17"), (3, 4, "P26"), (3, 4, "P40"), (5, 4, "P40")]
    idx = RuleIndex.from_labels(labels, types)
    assert idx.rules_for(0, 2, "P17") == ("chain:P131>P17",)
    assert idx.rules_for(4, 3, "P26") == ("symmetric:P26",)
    assert idx.rules_for(4, 3, "P22") == idx.rules_for(4, 3, "P25") == ("inverse:P40",)
    assert idx.rules_for(4, 5, "P22") == ()  # an ORG cannot be a father
    assert idx.rules_for(0, 1, "P131") == ()  # already labelled: nothing to suggest
    assert idx.rules_for(1, 0, "P150") == ()  # P131 does not entail P150 (only direct subdivisions)
    assert RuleIndex.from_labels(labels).rules_for(4, 5, "P22") == ("inverse:P40",)  # no types: no constraint


def test_type_stats_fit_and_json_round_trip():
    stats = TypeStats.from_documents([TRAIN, DOC])
    assert stats.fits("P17", "LOC", "LOC") is True
    assert stats.fits("P17", "PER", "LOC") is False
    assert stats.fits("P26", "PER", "PER") is None  # never seen: neutral
    assert stats.counts["P150"][("LOC", "LOC")] == 2
    assert TypeStats.from_json(json.loads(json.dumps(stats.to_json()))).counts == stats.counts


def test_out_of_fold_folds_hold_each_title_out_once():
    titles = [f"doc{i}" for i in range(10)] + ["doc3"]  # a repeated title counts once
    folds = out_of_fold_folds(titles, 3, seed=7)
    assert [len(f.heldout) for f in folds] == [4, 3, 3]
    held = [t for f in folds for t in f.heldout]
    assert sorted(held) == sorted(set(titles))
    for f in folds:
        assert set(f.train) | set(f.heldout) == set(titles) and not set(f.train) & set(f.heldout)
    assert folds == out_of_fold_folds(reversed(titles), 3, seed=7)
    assert folds != out_of_fold_folds(titles, 3, seed=8)
    split = folds_to_split(folds, 7)
    assert split["k"] == 3 and split["heldout_2"] == list(folds[2].heldout) and split["train_0"] == list(folds[0].train)
    for k in (1, 12):
        with pytest.raises(SuggestError):
            out_of_fold_folds(titles, k, seed=7)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    add_suggest_command(p.add_subparsers(dest="command", required=True))
    return p


def test_suggest_without_shipped_models_says_how_to_fix(tmp_path, monkeypatch):
    (tmp_path / "models" / "empty").mkdir(parents=True)
    monkeypatch.setenv("DOCRE_MODELS_DIR", str(tmp_path / "models"))
    write_documents([DOC], tmp_path / "in.json")
    args = parser().parse_args(["suggest", "--input", str(tmp_path / "in.json"), "--output", str(tmp_path / "o.json")])
    with pytest.raises(CheckpointError, match="--checkpoint"):
        args.func(args)
    (tmp_path / "models" / "m2").mkdir()
    (tmp_path / "models" / "m2" / "config.json").write_text("{}")  # not a checkpoint: skipped, and said so
    with pytest.raises(CheckpointError, match="1 skipped"):
        discover_models()


def test_folds_command_writes_a_split_file(tmp_path):
    docs = [Document(f"t{i}", DOC.sents, DOC.entities, DOC.facts) for i in range(4)]
    write_documents(docs, tmp_path / "in.json")
    args = parser().parse_args(["folds", "--input", str(tmp_path / "in.json"), "--k", "2", "--seed", "1",
                                "--output", str(tmp_path / "folds.json")])
    assert args.func(args) == 0
    split = json.loads((tmp_path / "folds.json").read_text())
    assert sorted(split["heldout_0"] + split["heldout_1"]) == ["t0", "t1", "t2", "t3"]
    assert split["train_0"] == split["heldout_1"]


@pytest.mark.slow
def test_suggest_command_end_to_end_with_a_tiny_model(redocred_docs, tiny_encoder_dir, tmp_path):
    from engine.config import EncoderConfig
    from engine.data.schema import default_schema
    from engine.model.checkpoint import build_model, save_checkpoint

    loaded = build_model("atlop", None, EncoderConfig(name=str(tiny_encoder_dir), freeze_word_embeddings=False),
                         default_schema())
    save_checkpoint(loaded, tmp_path / "m1")
    docs = [d for d in redocred_docs if d.facts and len(d.entities) <= 10][:2]
    write_documents(docs, tmp_path / "in.json")
    out = tmp_path / "s.json"
    args = parser().parse_args(["suggest", "--input", str(tmp_path / "in.json"), "--output", str(out),
                                "--checkpoint", str(tmp_path / "m1"), "--band", "0.5", "--limit", "40", "--device",
                                "cpu"])
    assert args.func(args) == 0
    ranked = json.loads(out.read_text())
    assert 0 < len(ranked) <= 40
    assert [s["score"] for s in ranked] == sorted((s["score"] for s in ranked), reverse=True)
    gold = {(d.title, f.h, f.t, f.r) for d in docs for f in d.facts}
    assert not gold & {(s["title"], s["h_idx"], s["t_idx"], s["r"]) for s in ranked}
    assert all(set(s["evidence"]["models"]) == {"m1"} for s in ranked)
    folds = tmp_path / "folds.json"
    folds.write_text(json.dumps(folds_to_split(out_of_fold_folds([d.title for d in docs], 2, 0))))
    args = parser().parse_args(["suggest", "--input", str(tmp_path / "in.json"), "--output", str(out), "--folds",
                                str(folds), "--checkpoint", str(tmp_path / "m1"), str(tmp_path / "m1"), "--band", "0"])
    assert args.func(args) == 0
    assert {s["title"] for s in json.loads(out.read_text())} <= {d.title for d in docs}
    assert all(set(s["evidence"]["models"]) == {"oof"} for s in json.loads(out.read_text()))


def test_shipped_type_stats_come_from_the_train_documents():
    stats = TypeStats.load()
    assert "400 train titles" in stats.source
    assert stats.fits("P569", "PER", "TIME") is True  # date of birth
    assert stats.fits("P569", "PER", "LOC") is False


def test_default_type_stats_missing_or_corrupt_is_neutral_with_a_reason(tmp_path):
    from engine.curate.type_stats import TypeStats, load_default_type_stats

    stats, problem = load_default_type_stats()
    assert isinstance(stats, TypeStats) and problem is None  # the shipped file
    assert load_default_type_stats(tmp_path / "none.json") == (None, f"no type statistics ({tmp_path / 'none.json'} "
                                                                      "is missing): the type rule is neutral")
    (tmp_path / "bad.json").write_text("[1, 2", encoding="utf-8")
    stats, problem = load_default_type_stats(tmp_path / "bad.json")
    assert stats is None and "not a type statistics file" in problem and problem.endswith("the type rule is neutral")
