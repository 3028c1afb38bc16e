"""The review queue's candidates read sparsely from the scores (engine.curate.slot_views) are exactly those of the
dense (slot, head, tail, relation) grids they replace, on real Re-DocRED documents scored by tiny models of three
families; and their memory follows the slots that scored and the candidates, not every slot x entities^2 x
relations (issue 25 point 5: the app's scoring job peaked at 1.76x the CLI's memory on a long document)."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from engine.curate import slot_views
from engine.curate.candidate_features import DocumentCandidates, Pool, document_candidates, slots_of
from engine.curate.type_stats import TypeStats
from engine.data.schema import default_schema
from tests.app_support import build_models_dir
from tests.engine.curate.dense_grid_support import reference_candidates
from tests.engine.curate.synthetic import line_document, scores

# every shipped family: ncrl, p3m and pemscl score nothing here, as when one model scored a document in the app
SLOTS = slots_of(["atlop.v1", "kmgre.v2", "ncrl.v1", "p3m.v1", "paee.v1", "pemscl.v1"])
MODELS = ("a1", "a2", "a3", "paee", "kmgre")  # three ATLOPs share one slot: each adds its margin / 3 in float32


@pytest.fixture(scope="module")
def scored(tiny_encoder_dir, redocred_docs, tmp_path_factory):
    """Three labelled dev documents (20 to 29 entities) and each tiny model's scores of them."""
    from engine.serve.predictor import Predictor

    root = build_models_dir(tiny_encoder_dir, tmp_path_factory.mktemp("grid_models"), MODELS,
                            methods={"paee": "paee", "kmgre": "kmgre"})
    docs = [d for d in redocred_docs if d.facts][:3]
    return docs, {name: Predictor.from_checkpoint(root / name).predict(docs) for name in MODELS}


def assert_same(new: DocumentCandidates, old: DocumentCandidates) -> None:
    """Same triples in the same order, and every feature the same bits (NaN where NaN)."""
    assert (new.title, new.relations, new.predicted) == (old.title, old.relations, old.predicted)
    for a, b in ((new.heads, old.heads), (new.tails, old.tails)):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert new.static.dtype == old.static.dtype == np.float32 and new.static.shape == old.static.shape
    nan = np.isnan(old.static)
    assert np.array_equal(np.isnan(new.static), nan)
    assert np.array_equal(new.static[~nan].view(np.uint32), old.static[~nan].view(np.uint32))
    assert np.array_equal(new.mean_margin, old.mean_margin)


def both(doc, per_model, **kw) -> tuple[DocumentCandidates, DocumentCandidates]:
    return document_candidates(doc, per_model, **kw), reference_candidates(doc, per_model, **kw)


@pytest.mark.parametrize("block_cells", [slot_views.BLOCK_CELLS, 700])  # 700: a block of one head, many blocks
@pytest.mark.parametrize("pool", [Pool(), Pool(band=0.5, top_k=2), Pool(band=0.0, top_k=0)])
def test_candidates_equal_the_dense_grids_on_real_documents(scored, monkeypatch, block_cells, pool):
    docs, by_model = scored
    monkeypatch.setattr(slot_views, "BLOCK_CELLS", block_cells)
    stats = TypeStats.from_documents(docs)
    rates = {"P17": 0.3, "P131": 0.6, "P150": 0.2}
    n = 0
    for i, doc in enumerate(docs):
        per_model = {name: s[i] for name, s in by_model.items()}
        exclude = [(f.t, f.h, f.r) for f in doc.facts[:3]]  # decided triples leave the pool
        new, old = both(doc, per_model, slots=SLOTS, pool=pool, type_stats=stats, missing_rates=rates,
                        exclude=exclude)
        assert_same(new, old)
        n += len(new)
    assert n > 0


@pytest.mark.parametrize("models", [("kmgre",), ("a1", "a2", "a3"), ("paee", "a2")])
def test_candidates_equal_the_dense_grids_for_fewer_models(scored, models):
    docs, by_model = scored
    for i, doc in enumerate(docs):
        assert_same(*both(doc, {name: by_model[name][i] for name in models}, slots=SLOTS))


def test_decided_triples_outside_the_pool_equal_the_dense_grids(scored):
    docs, by_model = scored
    doc = docs[0]
    labelled = [(f.h, f.t, f.r) for f in doc.facts[:4]]
    only = [*labelled, (0, 0, "P17"), (1, 0, "not a relation"), (0, doc.num_entities, "P17"), (2, 1, "P150")]
    per_model = {name: s[0] for name, s in by_model.items()}
    new, old = both(doc, per_model, slots=SLOTS, only=only)
    assert_same(new, old)
    assert len(new) == len(labelled) + 1
    assert_same(*both(doc, {}, slots=SLOTS, only=only))  # nothing scored: every score feature missing


def peak_bytes(doc, per_model, slots) -> tuple[int, DocumentCandidates]:
    """Peak bytes numpy and Python allocate while building the candidates, and the candidates."""
    tracemalloc.start()
    try:
        cands = document_candidates(doc, per_model, slots=slots, pool=Pool(band=0.0, top_k=1))
        return tracemalloc.get_traced_memory()[1], cands
    finally:
        tracemalloc.stop()


def test_memory_follows_the_scored_slots_and_the_candidates_not_dense_grids(monkeypatch):
    monkeypatch.setattr(slot_views, "BLOCK_CELLS", 1 << 14)  # blocks of 128 KB: the rest is what the result needs
    rels = default_schema().relation_ids
    n_e = 150
    doc = line_document("long", n_e)
    per_model = {"a": scores("long", n_e, {(0, 1, "P17"): 2.0, (3, 2, "P131"): -0.5}, rels=rels)}
    grid = n_e * n_e * len(rels) * 8  # one dense float64 (head, tail, relation) grid: 17 MB
    one, cands = peak_bytes(doc, per_model, ("atlop",))
    six, cands6 = peak_bytes(doc, per_model, SLOTS)
    n = len(cands)
    assert n == len(cands6) == n_e * (n_e - 1)  # the pool: each pair's best relation
    assert six < grid  # the dense grids held three such grids per slot (18 for six slots), and their sorts
    assert six < 3 * cands6.static.nbytes  # the result itself, a few per-candidate columns and 128 KB blocks
    assert six - one <= n * 3 * (len(SLOTS) - 1) * 4 + 256 * 1024  # an unscored slot costs its NaN columns only
