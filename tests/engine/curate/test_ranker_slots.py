"""The ranker's model slots: no hand-written list. A queue takes the families of the models that scored, a saved
ranker records its slots in ranker.json and scoring reads them there, and a model outside a ranker's slots is named
in a warning instead of being dropped in silence."""
from __future__ import annotations

import logging

import pytest

from engine.curate.candidate_features import feature_names, scored_slots, slots_of
from engine.curate.queue import build_queue
from engine.curate.ranker import DEFAULT_RANKER, Ranker, ranker_slots
from engine.curate.ranker_data import examples
from engine.curate.suggestions import suggest
from tests.engine.curate.ranker_support import N_E, POOL, base_ranker, corpus
from tests.engine.curate.synthetic import scores


@pytest.fixture(scope="module")
def ranker() -> Ranker:
    return base_ranker()


def _with_new_method(n_docs: int, prefix: str) -> tuple[list, dict[str, list]]:
    """The chain corpus scored by its PAEE model and by a method no code names ("zeta.v1")."""
    docs, sc = corpus(n_docs, prefix)
    zeta = [scores(d.title, N_E, {(0, 1, "P17"): 1.0}, "zeta.v1") for d in docs]
    return docs, {**sc, "zeta-run": zeta}


def test_a_new_method_gets_its_slot_without_an_entry() -> None:
    assert slots_of(["paee.v1", "atlop.v1", "paee.v2", "zeta.v1"]) == ("atlop", "paee", "zeta")
    docs, sc = _with_new_method(2, "new")
    assert scored_slots(sc) == ("paee", "zeta")
    queue = build_queue(docs, sc, pool=POOL)
    assert queue.slots == ("paee", "zeta")
    data = examples(docs, docs, sc, pool=POOL)
    assert "margin:zeta" in data.feature_names and data.features.shape[1] == len(feature_names(queue.slots))


def test_scoring_reads_the_slots_from_the_ranker_file(ranker: Ranker, tmp_path) -> None:
    ranker.save(tmp_path / "r")
    assert ranker_slots(tmp_path / "r") == ranker.slots == ("paee",)  # the families it was trained on
    assert Ranker.load(tmp_path / "r").slots == ranker.slots
    shipped = ranker_slots(DEFAULT_RANKER)
    names = Ranker.load(DEFAULT_RANKER).feature_names
    assert shipped == tuple(n.split(":", 1)[1] for n in names if n.startswith("margin:"))


def test_a_model_outside_the_rankers_slots_is_named_in_a_warning(ranker: Ranker, caplog) -> None:
    docs, sc = _with_new_method(2, "warn")
    with caplog.at_level(logging.WARNING, logger="engine.curate.suggestions"):
        out = suggest(docs, sc, ranker=ranker, limit=5)
    assert out and out[0].support.ranking["by"] != "formula"
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "zeta-run (zeta.v1)" in warned[0] and "paee" in warned[0]
    caplog.clear()
    docs, sc = corpus(2, "quiet")
    with caplog.at_level(logging.WARNING, logger="engine.curate.suggestions"):
        suggest(docs, sc, ranker=ranker, limit=5)
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]
