"""engine.data.metrics against numbers computed by hand on a toy case (the comments show the arithmetic)."""
from __future__ import annotations

import json
from collections import Counter
from fractions import Fraction as F

import pytest

from engine.data.documents import Document, Entity, Fact, Mention
from engine.data.metrics import (
    EvaluationError,
    EvaluationReport,
    evaluate,
    format_report,
    frequency_groups,
    relation_counts,
    train_name_facts,
)


def entity(*mentions: tuple[str, int, int, int]) -> Entity:
    return Entity(tuple(Mention(name, sent, start, end, "MISC") for name, sent, start, end in mentions))


def doc(title: str, sents: list[str], entities: list[Entity], facts: list[tuple[int, int, str]] | None) -> Document:
    return Document(title, tuple(tuple(s.split()) for s in sents), tuple(entities),
                    None if facts is None else tuple(Fact(h, t, r) for h, t, r in facts))


# Doc A: 4 entities, Paris has 2 mentions (sentences 0 and 2); Seine is alone in sentence 1.
DOC_A = doc("A", ["Paris is in France .", "It lies on the Seine .", "Paris hosts UNESCO ."],
            [entity(("Paris", 0, 0, 1), ("Paris", 2, 0, 1)), entity(("France", 0, 3, 4)),
             entity(("Seine", 1, 4, 5)), entity(("UNESCO", 2, 2, 3))],
            [(0, 1, "P17"),     # intra (s0), either
             (2, 1, "P17"),     # inter (s1 vs s0), single mentions
             (3, 0, "P159"),    # intra (s2), either
             (1, 0, "P36")])    # intra (s0), either
# Doc B: 3 entities, Marie Curie (s0, s1) and Warsaw (s0, s2) both have 2 mentions.
DOC_B = doc("B", ["Marie Curie was born in Warsaw .", "Curie worked in Paris .", "Warsaw was then Russian ."],
            [entity(("Marie Curie", 0, 0, 2), ("Curie", 1, 0, 1)), entity(("Warsaw", 0, 5, 6), ("Warsaw", 2, 0, 1)),
             entity(("Paris", 1, 3, 4))],
            [(0, 1, "P19"),     # intra (s0), both
             (0, 2, "P937")])   # intra (s1), either
GOLD = [DOC_A, DOC_B]
PREDICTED = [
    [(0, 1, "P17"),    # correct; ("Paris", "France", P17) is labelled in train -> seen in train
     (0, 1, "P17"),    # duplicate: counts once
     (2, 1, "P17"),    # correct, inter
     (3, 0, "P131"),   # wrong relation on a gold pair (gold is P159)
     (2, 0, "P17")],   # false positive on a pair without gold, inter
    [(0, 1, "P19")],   # correct, both multi-mention
]
# Train: P17 x3, P19 x2, P131 x1 -> with head_size=1, tail_size=1: head {P17}, mid {P19},
# tail {P131} + relations absent from train {P159, P36, P937}.
TRAIN = [
    doc("T1", ["Paris is the capital of France ."], [entity(("Paris", 0, 0, 1)), entity(("France", 0, 5, 6))],
        [(0, 1, "P17")]),
    doc("T2", ["Einstein was born in Ulm , Germany ; Planck in Kiel , near Berlin and Munich ."],
        [entity(("Einstein", 0, 0, 1)), entity(("Ulm", 0, 4, 5)), entity(("Germany", 0, 6, 7)),
         entity(("Planck", 0, 8, 9)), entity(("Kiel", 0, 10, 11)), entity(("Berlin", 0, 13, 14)),
         entity(("Munich", 0, 15, 16))],
        [(0, 1, "P19"), (3, 4, "P19"), (1, 2, "P131"), (5, 2, "P17"), (6, 2, "P17")]),
]


@pytest.fixture(scope="module")
def report() -> EvaluationReport:
    return evaluate(GOLD, PREDICTED, TRAIN, head_size=1, tail_size=1)


def prf(score) -> tuple[float, float, float]:
    return score.precision, score.recall, score.f1


def assert_prf(score, p: F, r: F, f1: F) -> None:
    assert prf(score) == pytest.approx((float(p), float(r), float(f1)))


def test_overall(report: EvaluationReport) -> None:
    # gold 4 + 2 = 6; predictions after dedup 4 + 1 = 5; correct A(0,1,P17), A(2,1,P17), B(0,1,P19) = 3
    assert (report.overall.n_correct, report.overall.n_pred, report.overall.n_gold) == (3, 5, 6)
    # P = 3/5, R = 3/6 = 1/2, F1 = 2*3/(5+6) = 6/11
    assert_prf(report.overall, F(3, 5), F(1, 2), F(6, 11))
    assert report.n_documents == 2


def test_ign_f1(report: EvaluationReport) -> None:
    # only A(0,1,P17) is seen in train: ("Paris", "France", "P17")
    assert report.n_correct_in_train == 1
    # P_ign = (3 - 1)/(5 - 1) = 1/2; R = 1/2; F1_ign = 2 * 1/2 * 1/2 / 1 = 1/2
    assert report.ign_precision == pytest.approx(0.5)
    assert report.ign_f1 == pytest.approx(0.5)


def test_ign_matches_any_mention_name_pair() -> None:
    # Train labels ("Curie", "Warsaw", P19) with a different first mention name: still seen in train.
    train = [doc("T", ["Curie left Warsaw ."], [entity(("Curie", 0, 0, 1)), entity(("Warsaw", 0, 2, 3))],
                 [(0, 1, "P19")])]
    assert evaluate([DOC_B], [[(0, 1, "P19")]], train).n_correct_in_train == 1
    # Reversed direction is a different fact.
    assert evaluate([DOC_B], [[(0, 1, "P19")]], [doc("T", ["Curie left Warsaw ."], train[0].entities, [(1, 0, "P19")])]
                    ).n_correct_in_train == 0


def test_per_relation(report: EvaluationReport) -> None:
    per = report.per_relation
    assert set(per) == {"P17", "P36", "P159", "P19", "P937", "P131"}
    # P17: gold 2, predicted 3 (A(0,1), A(2,1), A(2,0)), correct 2 -> P 2/3, R 1, F1 2*2/(3+2) = 4/5
    assert (per["P17"].n_gold, per["P17"].n_pred) == (2, 3)
    assert_prf(per["P17"], F(2, 3), F(1), F(4, 5))
    # P19: gold 1, predicted 1, correct 1
    assert_prf(per["P19"], F(1), F(1), F(1))
    # P131: gold 0, predicted 1; P36, P159, P937: gold 1, predicted 0 -> all zero without division errors
    assert (per["P131"].n_gold, per["P131"].n_pred) == (0, 1)
    for r in ("P131", "P36", "P159", "P937"):
        assert prf(per[r]) == (0.0, 0.0, 0.0)


def test_intra_inter(report: EvaluationReport) -> None:
    # gold intra: A(0,1) A(3,0) A(1,0) B(0,1) B(0,2) = 5; predicted intra: A(0,1) A(3,0) B(0,1) = 3; correct 2
    # P 2/3, R 2/5, F1 2*2/(3+5) = 1/2
    assert_prf(report.groups["intra"], F(2, 3), F(2, 5), F(1, 2))
    # gold inter: A(2,1) = 1; predicted inter: A(2,1) A(2,0) = 2; correct 1 -> P 1/2, R 1, F1 2*1/(2+1) = 2/3
    assert_prf(report.groups["inter"], F(1, 2), F(1), F(2, 3))


def test_multi_mention(report: EvaluationReport) -> None:
    # either: gold A(0,1) A(3,0) A(1,0) B(0,1) B(0,2) = 5; predicted A(0,1) A(3,0) A(2,0) B(0,1) = 4; correct 2
    # P 2/4 = 1/2, R 2/5, F1 2*2/(4+5) = 4/9
    assert_prf(report.groups["multi_either"], F(1, 2), F(2, 5), F(4, 9))
    # both: only B(0,1), gold and predicted -> 1, 1, 1
    assert_prf(report.groups["multi_both"], F(1), F(1), F(1))


def test_frequency_groups(report: EvaluationReport) -> None:
    assert report.relation_groups == {"head": ("P17",), "mid": ("P19",), "tail": ("P131", "P159", "P36", "P937")}
    # head (P17) = per-relation P17: P 2/3, R 1, F1 4/5; mid (P19): 1, 1, 1
    assert_prf(report.groups["head"], F(2, 3), F(1), F(4, 5))
    assert_prf(report.groups["mid"], F(1), F(1), F(1))
    # tail: gold P36 + P159 + P937 = 3, predicted P131 = 1, correct 0
    tail = report.groups["tail"]
    assert (tail.n_correct, tail.n_pred, tail.n_gold) == (0, 1, 3)
    assert prf(tail) == (0.0, 0.0, 0.0)


def test_frequency_groups_default_sizes() -> None:
    # R00..R34 with counts 35..1: head = 10 most frequent, tail = 20 least frequent + absent X, mid = R10..R14
    counts = Counter({f"R{i:02d}": 35 - i for i in range(35)})
    groups = frequency_groups(counts, ["R00", "X"])
    assert groups["head"] == tuple(f"R{i:02d}" for i in range(10))
    assert groups["mid"] == tuple(f"R{i:02d}" for i in range(10, 15))
    assert groups["tail"] == tuple(f"R{i:02d}" for i in range(15, 35)) + ("X",)


def test_pair_detection(report: EvaluationReport) -> None:
    # A: 12 ordered pairs; gold pairs (0,1) (2,1) (3,0) (1,0); predicted (0,1) (2,1) (3,0) (2,0)
    #    -> TP 3 (the wrong-relation (3,0) still finds the pair), FP 1, FN 1, TN 7
    # B: 6 ordered pairs; gold (0,1) (0,2); predicted (0,1) -> TP 1, FP 0, FN 1, TN 4
    # total: 18 pairs, TP 4, FP 1, FN 2, TN 11 -> accuracy 15/18 = 5/6; P 4/5, R 4/6 = 2/3, F1 2*4/(5+6) = 8/11
    pd = report.pair_detection
    assert (pd.n_pairs, pd.n_agree) == (18, 15)
    assert pd.accuracy == pytest.approx(5 / 6)
    assert_prf(pd.score, F(4, 5), F(2, 3), F(8, 11))


def test_helpers() -> None:
    assert relation_counts(TRAIN) == Counter({"P17": 3, "P19": 2, "P131": 1})
    assert ("Paris", "France", "P17") in train_name_facts(TRAIN)


def test_without_train_no_ign_no_frequency_groups() -> None:
    report = evaluate(GOLD, PREDICTED)
    assert report.n_correct_in_train is None and report.ign_precision is None and report.ign_f1 is None
    assert set(report.groups) == {"intra", "inter", "multi_either", "multi_both"}
    assert report.relation_groups == {}
    assert report.overall.f1 == pytest.approx(6 / 11)
    assert "ign" not in format_report(report)


def test_perfect_predictions() -> None:
    perfect = [[(f.h, f.t, f.r) for f in d.facts] for d in GOLD]
    report = evaluate(GOLD, perfect, TRAIN)
    assert prf(report.overall) == (1.0, 1.0, 1.0)
    assert report.pair_detection.accuracy == 1.0
    assert all(s.f1 == 1.0 for s in report.per_relation.values())
    # seen in train: A(0,1,P17) -> P_ign = (6 - 1)/(6 - 1) = 1
    assert report.ign_f1 == pytest.approx(1.0)


def test_empty_predictions() -> None:
    report = evaluate(GOLD, [[], []], TRAIN)
    assert prf(report.overall) == (0.0, 0.0, 0.0)
    assert report.ign_precision == 0.0 and report.ign_f1 == 0.0
    assert all(prf(s) == (0.0, 0.0, 0.0) for s in report.groups.values())
    # no pair predicted: TN = 18 - 6 gold pairs = 12 -> accuracy 12/18 = 2/3
    assert report.pair_detection.accuracy == pytest.approx(2 / 3)
    format_report(report)


def test_nothing_to_score() -> None:
    report = evaluate([doc("E", ["a ."], [entity(("a", 0, 0, 1))], [])], [[]], [])
    assert prf(report.overall) == (0.0, 0.0, 0.0)
    assert report.pair_detection.accuracy == 0.0 and report.ign_f1 == 0.0


def test_json_round_trip(report: EvaluationReport) -> None:
    data = json.loads(json.dumps(report.to_json()))
    assert data["overall"]["f1"] == pytest.approx(6 / 11) and data["ign_f1"] == pytest.approx(0.5)
    assert EvaluationReport.from_json(data) == report


def test_format_report(report: EvaluationReport) -> None:
    text = format_report(report, names={"P17": "country", "P19": "place of birth"})
    lines = text.splitlines()
    assert lines[2].split() == ["overall", "60.00", "50.00", "54.55", "6", "5"]
    assert any(line.split()[:5] == ["ign", "(seen", "in", "train:", "1)"] and "50.00" in line for line in lines)
    assert any(line.startswith("pair detection") and "acc  83.33" in line for line in lines)
    relations = lines[lines.index("per relation, by support") + 1:]
    # by support: P17 (2), then P159, P19, P36, P937 (1 each, by id), then P131 (0)
    assert [line.split()[0] for line in relations] == ["P17", "P159", "P19", "P36", "P937", "P131"]
    assert relations[0].startswith("P17 country")
    assert len({len(line) for line in lines[1:] if not line.startswith(("per relation", "pair", "ign"))}) == 1


@pytest.mark.parametrize("predicted, match", [
    ([[]], "one prediction list per gold document"),
    ([[(0, 4, "P17")], []], r"0\.\.3"),
    ([[(1, 1, "P17")], []], "two different entity indices"),
])
def test_bad_predictions(predicted, match: str) -> None:
    with pytest.raises(EvaluationError, match=match):
        evaluate(GOLD, predicted)


def test_unlabelled_gold() -> None:
    with pytest.raises(EvaluationError, match="has no labels"):
        evaluate([doc("U", ["a b ."], [entity(("a", 0, 0, 1)), entity(("b", 0, 1, 2))], None)], [[]])
