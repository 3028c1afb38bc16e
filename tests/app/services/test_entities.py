"""Entity editing for the Document page (issue 25): an edit through services.entities rescores only the pairs it
touched and says so; a rescore that fails keeps the edit and names the stale pairs; the messages say what followed
a merge and what a split flagged."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")

from app import services  # noqa: E402
from engine.data.documents import Document, Entity, Fact, Mention  # noqa: E402
from engine.data.pair_scores import PairScores  # noqa: E402

CURIE = Document(
    title="Curie",
    sents=(("Marie", "Curie", "was", "born", "in", "Warsaw", "."),
           ("Curie", "moved", "to", "Paris", "in", "France", ".")),
    entities=(
        Entity((Mention("Marie Curie", 0, 0, 2, "PER"),)),
        Entity((Mention("Warsaw", 0, 5, 6, "LOC"),)),
        Entity((Mention("Curie", 1, 0, 1, "ORG"),)),  # the surname, mistyped and apart, as ingest left it
        Entity((Mention("Paris", 1, 3, 4, "LOC"), Mention("France", 1, 5, 6, "LOC"))),  # two places merged
    ),
    facts=(Fact(0, 1, "P19", (0,)), Fact(2, 3, "P551", (1,))),
)


def scores(n: int, value: float | None = None, seed: int = 0) -> PairScores:
    """Scores of every ordered pair of n entities: distinct per pair, or all `value` (a fresh model's)."""
    pairs = [(h, t) for h in range(n) for t in range(n) if h != t]
    rng = np.random.default_rng(seed)
    raw = np.full((len(pairs), 3), value) if value is not None else rng.normal(size=(len(pairs), 3))
    logits = raw.astype(np.float32)
    return PairScores("Curie", "atlop.v1", ("P17", "P551"), np.array([h for h, _ in pairs]),
                      np.array([t for _, t in pairs]), logits, logits.copy(), logits[:, 1:] > logits[:, :1])


class FreshModel:
    """Stands in for a checkpoint: every pair of the document it is given scores 7."""

    def predict(self, docs):
        return [scores(docs[0].num_entities, 7.0)]


@pytest.fixture
def curie(env: Path) -> tuple[int, int]:
    """The document in a new dataset, scored by one run; ada may annotate. Returns (document id, run id)."""
    from app.services.resources import session
    from db import store

    dataset_id, result = services.documents.store_upload("curie", [CURIE])
    (doc_id,) = result.added
    with session() as s:
        run_id = store.record_run(s, dataset_id, checkpoint="models/fake", method="atlop.v1", version="0", seconds=0.0)
        store.save_pair_scores(s, run_id, doc_id, scores(4))
    services.review.ensure_annotator("ada")
    return doc_id, run_id


def test_an_edit_rescores_only_the_pairs_it_touched(curie, monkeypatch: pytest.MonkeyPatch) -> None:
    doc_id, run_id = curie
    monkeypatch.setattr(services.entities, "predictor", lambda path: FreshModel())
    before = services.scoring.pair_scores(run_id, doc_id)  # cached: the edit must clear it
    outcome = services.entities.set_type(doc_id, "ada", entity=2, entity_type="PER")
    after = services.scoring.pair_scores(run_id, doc_id)
    touched = [p for p, (h, t) in enumerate(zip(after.heads, after.tails)) if 2 in (h, t)]
    untouched = [p for p in range(len(after.heads)) if p not in touched]
    assert (outcome.runs_rescored, outcome.pairs_rescored) == (1, 6)  # 4 entities: 12 pairs, 6 touch entity 2
    assert np.all(after.logits[touched] == 7.0)
    for p in untouched:
        assert np.array_equal(after.logits[p], before.logits[before.pair(int(after.heads[p]), int(after.tails[p]))])
    assert services.documents.document(doc_id).entities[2].type == "PER"  # the cached document was dropped
    said, warnings = services.entities.outcome_messages(outcome, CURIE)
    assert "entity 2: type ORG → PER" in said and "Rescored the 6 pairs touching entity 2 in 1 model run(s)" in said
    assert warnings == []


def test_a_rescore_that_fails_keeps_the_edit_and_names_the_stale_pairs(curie, monkeypatch: pytest.MonkeyPatch) -> None:
    doc_id, _ = curie

    def gone(path: str):
        raise services.resources.ModelError(f"{path}: no config.json")

    monkeypatch.setattr(services.entities, "predictor", gone)
    outcome = services.entities.merge(doc_id, "ada", a=0, b=2)
    assert outcome.rescore_problem == "models/fake: no config.json" and outcome.runs_rescored == 0
    assert [e.kind for e in services.entities.edit_log(doc_id)] == ["merge"]  # the edit stands
    said, warnings = services.entities.outcome_messages(outcome, CURIE)
    assert "merged entity 2 (Curie) into entity 0 (Marie Curie); its labels and suggestions followed" in said
    assert warnings and "stale" in warnings[0] and "entity 0" in warnings[0]
    doc = services.documents.document(doc_id)
    assert sorted((f.h, f.t, f.r) for f in doc.facts) == [(0, 1, "P19"), (0, 2, "P551")]  # Curie's label followed


def test_a_split_lists_the_labels_someone_must_check(curie, monkeypatch: pytest.MonkeyPatch) -> None:
    doc_id, _ = curie
    monkeypatch.setattr(services.entities, "predictor", lambda path: FreshModel())
    outcome = services.entities.split(doc_id, "ada", entity=3, mentions=[1])
    said, warnings = services.entities.outcome_messages(outcome, CURIE)
    assert "split mentions [1] of entity 3 into new entity 4" in said
    assert warnings == ["Check these: they were on entity 3 and stay there; only you know which part they meant: "
                        "gold label (2 → 3, P551)."]
    assert [row["mentions"] for row in services.entities.entities_at(doc_id, 0)][3] == "Paris | France"
    assert [row["mentions"] for row in services.entities.entities_at(doc_id, 1)][3:] == ["Paris", "France"]


def test_a_refused_edit_changes_nothing(curie) -> None:
    doc_id, _ = curie
    with pytest.raises(services.annotation.StoreError, match="only one"):
        services.entities.remove_mention(doc_id, "ada", entity=0, mention=0)
    assert services.entities.edit_log(doc_id) == []


def test_mentions_are_offered_in_text_order_with_their_entity() -> None:
    order = services.annotation.mentions_in_text_order(CURIE)
    assert order == [(0, 0), (1, 0), (2, 0), (3, 0), (3, 1)]
    assert services.annotation.mention_label(CURIE, (3, 1)) == "[1] France → entity 3 · Paris (LOC)"
    assert services.annotation.sentence_label(CURIE, 1, limit=12) == "[1] Curie moved…"
    assert services.entities.span_text(CURIE, 0, 0, 2) == "Marie Curie"
