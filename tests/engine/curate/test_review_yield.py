import pytest

from engine.curate.review_yield import Decided, accepted_shares, decided_from_log


def _log(pattern: str, relation: str = "P17") -> list[Decided]:
    return [Decided("accept" if c == "a" else "reject" if c == "r" else "skip", relation) for c in pattern]


def test_shares_match_hand_count():
    decided = _log("aar" + "rrr") + _log("aa", "P131")  # blocks of 4: [a a r r] [r r a a]
    assert accepted_shares(decided, block=4) == [0.5, 0.5]
    assert accepted_shares(decided, block=4, relation="P17") == [0.5, 0.0]  # [a a r r] [r r]
    assert accepted_shares(decided, block=4, relation="P131") == [1.0]


def test_skips_do_not_count_and_empty_is_empty():
    assert accepted_shares(_log("asr"), block=2) == [0.5]
    assert accepted_shares([], block=2) == []
    with pytest.raises(ValueError, match="at least 1"):
        accepted_shares(_log("a"), block=0)


def test_undone_rows_are_dropped():
    rows = [{"decision": "accept", "suggested_relation": "P17", "undone": True},
            {"decision": "undo", "suggested_relation": "P17", "undone": False},
            {"decision": "reject", "suggested_relation": "P17", "undone": False}]
    assert decided_from_log(rows) == [Decided("reject", "P17")]


def test_a_correction_is_kept_apart_from_an_acceptance():
    rows = [{"decision": "accept", "suggested_relation": "P17", "undone": False, "corrected": False},
            {"decision": "accept", "suggested_relation": "P17", "undone": False, "corrected": True},
            {"decision": "reject", "suggested_relation": "P17", "undone": False, "corrected": False},
            {"decision": "reject", "suggested_relation": "P17", "undone": False, "corrected": False}]
    decided = decided_from_log(rows)
    assert [d.corrected for d in decided] == [False, True, False, False]
    assert accepted_shares(decided, block=4) == [0.25]  # the correction is not an acceptance
    assert accepted_shares(decided, block=4, corrected=True) == [0.25]
