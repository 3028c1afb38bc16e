"""Upload, Document, Compare and Export details: an export keeps every original key and gives an accepted triple
the sentences naming both entities, empty uploads are named as such, the Document page opens on the default model's
run, filters entities with their real indices, shows a pair's evidence sentences and offers a KMGRE run; Compare
shares one logit axis."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from app import services
from app.state import Keys
from db.workflows.scoring import score_documents
from tests.app.page_support import app, seed_ids, texts
from tests.paths import ROOT

SAMPLES = ROOT / "assets" / "samples"


def _extra_keys_file() -> bytes:
    doc = {"title": "Extra keys", "sents": [["Ann", "Lee", "lives", "in", "Paris", "."],
                                            ["Paris", "is", "in", "France", "."]],
           "vertexSet": [[{"name": "Ann Lee", "sent_id": 0, "pos": [0, 2], "type": "PER", "global_pos": [0, 2],
                           "index": "0_0"}],
                         [{"name": "Paris", "sent_id": 0, "pos": [4, 5], "type": "LOC", "global_pos": [4, 5],
                           "index": "1_0"},
                          {"name": "Paris", "sent_id": 1, "pos": [0, 1], "type": "LOC", "index": "1_1"}],
                         [{"name": "France", "sent_id": 1, "pos": [3, 4], "type": "LOC"}]],
           "labels": [{"h": 1, "t": 2, "r": "P17", "evidence": [1], "source": "curated"},
                      {"h": 0, "t": 1, "r": "P551"}],
           "split": "dev", "meta": {"n": 1}}
    return json.dumps([doc]).encode("utf-8")


@pytest.mark.parametrize("name", ["redocred_heldout_sample.json", "extra_keys.json"])
def test_export_keeps_every_original_key(env: Path, name: str) -> None:
    data = (SAMPLES / name).read_bytes() if name != "extra_keys.json" else _extra_keys_file()
    parsed = services.documents.parse_docred(data, name)
    assert not parsed.problems
    dataset_id, result = services.documents.store_upload("samples", list(parsed.documents), list(parsed.sources))
    assert len(result.added) == len(parsed.documents)
    assert json.loads(services.export.dataset_json(dataset_id)) == json.loads(data)


def test_accepted_triple_gets_the_sentences_naming_both(env: Path) -> None:
    parsed = services.documents.parse_docred(_extra_keys_file(), "extra.json")
    dataset_id, result = services.documents.store_upload("one", list(parsed.documents), list(parsed.sources))
    from app.services.resources import session
    from db import store

    with session() as s:
        run = store.record_run(s, dataset_id, checkpoint="x", method="atlop.v1", version="0", seconds=0.0)
        (sid,) = store.add_suggestions(s, dataset_id, [{"doc_id": result.added[0], "h_idx": 0, "t_idx": 1,
                                                        "relation": "P27", "score": 0.5, "evidence": {}}],
                                       run_ids=[run])
    services.review.ensure_annotator("ada")
    services.review.decide(sid, "ada", "accept")
    (doc,) = json.loads(services.export.dataset_json(dataset_id))
    added = doc["labels"][-1]
    assert (added["h"], added["t"], added["r"], added["evidence"]) == (0, 1, "P27", [0])
    assert added["provenance"]["annotator"] == "ada"
    assert doc["vertexSet"][0][0]["global_pos"] == [0, 2] and doc["labels"][0]["source"] == "curated"


def test_an_empty_json_list_holds_no_documents(env: Path) -> None:
    at = app()
    at.file_uploader(key=f"{Keys.JSON_UPLOAD}.0").upload("empty.json", b"[]", "application/json").run()
    assert "the file holds no documents" in at.error[0].value


def test_document_opens_on_the_default_models_run(seeded: Path, models_dir: Path) -> None:
    dataset_id, doc_ids = seed_ids()
    from app.services.resources import factory
    from engine.serve.predictor import Predictor

    other = models_dir / "tiny2"
    # newest run: not default
    score_documents(factory(), dataset_id, doc_ids[:1], [(str(other), Predictor.from_checkpoint(other, "cpu"))])
    services.scoring.clear_caches()
    newest = services.scoring.runs(dataset_id)[0]
    assert "tiny2" in newest.checkpoint
    at = app("document", **{"docre.dataset_id": dataset_id, "docre.document_id": doc_ids[0]})
    chosen = next(r for r in services.scoring.runs(dataset_id) if r.id == at.selectbox(key=Keys.RUN).value)
    assert chosen.checkpoint.rstrip("/").endswith("tiny")


def test_whitespace_paste_is_empty_text_and_file_plus_paste_is_refused(env: Path) -> None:
    at = app()
    at.text_area(key=Keys.PASTED).input("   \n  ")
    at.button(key=Keys.INGEST).click().run()
    assert "pasted text is empty" in at.error[0].value and "file" not in at.error[0].value.split(";")[0]
    at.file_uploader(key=f"{Keys.TEXT_UPLOAD}.0").upload("a.txt", b"Ann lives in Paris.", "text/plain")
    at.text_area(key=Keys.PASTED).input("Bob lives in Rome.")
    at.button(key=Keys.INGEST).click().run()
    assert "Both a text file and pasted text" in at.error[0].value
    assert at.session_state["docre.pending_text"] is None


def test_matrix_filters_entities_and_reports_real_indices(seeded: Path) -> None:
    from app.components import matrix

    dataset_id, doc_ids = seed_ids()
    doc = services.documents.document(doc_ids[0])
    cells = matrix.gold_cells(doc, services.relation_names())
    kind = doc.entities[cells[0].head].type
    shown = matrix.entities_shown(doc, cells, [kind])
    assert shown and all(doc.entities[e].type == kind for e in shown)
    active = matrix.entities_shown(doc, cells, None, with_cells_only=True)
    assert set(active) == {x for c in cells for x in (c.head, c.tail)}
    figure = matrix.matrix_figure(doc, cells, entities=active)
    assert figure.data[0].z.shape == (len(active), len(active))
    assert {tuple(p) for p in figure.data[-1].customdata} == {(h, t) for h in active for t in active if h != t}
    assert "darker" in figure.layout.legend.title.text


def test_compare_shares_one_logit_axis_and_shows_text_and_gold(seeded: Path) -> None:
    dataset_id, doc_ids = seed_ids()
    at = app("compare", **{"docre.dataset_id": dataset_id, "docre.document_id": doc_ids[0]})
    charts = [f for f in (c for c in at.get("plotly_chart"))]
    import json as _json

    specs = [_json.loads(c.proto.spec) for c in charts]
    ranges = [s["layout"]["xaxis"]["range"] for s in specs[-2:]]  # the two logit charts, after the matrix
    assert ranges[0] == ranges[1] and ranges[0][0] < ranges[0][1]
    assert "Gold:" in texts(at) and any("<mark" in h.proto.body for h in at.get("html"))


def test_document_shows_the_pairs_evidence_sentences(seeded: Path) -> None:
    dataset_id, doc_ids = seed_ids()
    doc = services.documents.document(doc_ids[0])
    fact = doc.facts[0]
    at = app("document", **{"docre.dataset_id": dataset_id, "docre.document_id": doc_ids[0],
                            "docre.pair": (fact.h, fact.t), Keys.HEAD: fact.h, Keys.TAIL: fact.t})
    evidence = services.documents.pair_sentences(doc, fact.h, fact.t)
    assert "Sentences naming both:" in texts(at)
    if evidence.gold:
        assert "gold evidence: " + " ".join(f"[{i}]" for i in evidence.gold) in texts(at)


def test_kmgre_run_is_offered_from_any_run() -> None:
    from datetime import datetime, timezone

    from db.store.domain import RunInfo

    now = datetime.now(timezone.utc)
    runs = [RunInfo(3, 1, "m/atlop", "atlop.v1", "0", 1.0, now), RunInfo(2, 1, "m/kmgre", "kmgre.v2", "0", 1.0, now)]
    assert services.scoring.kmgre_run(runs).id == 2
    assert services.scoring.kmgre_run(runs[:1]) is None
