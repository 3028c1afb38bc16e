"""The store: all-or-nothing uploads, duplicates by content, documents back intact, compact pair scores,
suggestion listing with whitelisted filters. Each test runs on SQLite, and on PostgreSQL when configured."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from db import store
from db.store import models as m
from db.store.clock import utc_now
from db.store.errors import DuplicateError, NotFoundError
from db.store.queries.runs import decode_scores, encode_scores
from db.store.session import database_url, session_scope
from engine.data.documents import Entity, Fact, Mention, read_documents
from engine.data.pair_extras import MentionGrids, MentionPairGrid
from engine.data.pair_scores import PairScores
from engine.data.support import Support
from tests.db_support import seed, tiny_document
from tests.model_helpers import sparse_scores
from tests.paths import require_shared_data


def count(factory, model) -> int:  # the fixture's name, passed in
    with session_scope(factory) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_sqlite_engine_enforces_foreign_keys_and_uses_wal(tmp_path) -> None:
    from db.store.session import make_engine

    sqlite = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with sqlite.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    sqlite.dispose()


def test_default_url_is_sqlite_under_data_dir_and_postgres_gets_psycopg(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("DOCRE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DOCRE_DATA_DIR", str(tmp_path))
    assert database_url().database == str(tmp_path / "docre.sqlite")
    monkeypatch.setenv("DOCRE_DATABASE_URL", "postgresql://u@localhost/x")
    assert database_url().drivername == "postgresql+psycopg"


def test_upload_round_trips_documents(factory) -> None:
    docs = [tiny_document(), tiny_document("Unlabelled", facts=None)]
    docs += list(read_documents(require_shared_data() / "redocred" / "dev_revised.json").documents[:3])
    with session_scope(factory) as session:
        dataset = store.create_dataset(session, "upload")
        result = store.add_documents(session, dataset.id, docs)
    assert len(result.added) == len(docs) and result.skipped == ()
    with session_scope(factory) as session:
        back = [store.get_document(session, i) for i in result.added]
        listing = store.list_documents(session, dataset.id)
    assert back == docs  # entities, mentions, sentences and facts (with evidence) as uploaded
    assert [d.extra for d in back] == [d.extra for d in docs]
    assert back[1].facts is None and back[0].facts[0].evidence == (1,)
    assert [(i.title, i.num_entities, i.num_facts, i.has_labels) for i in listing][:2] == [
        ("Ann Lee", 3, 1, True), ("Unlabelled", 3, 0, False)]


def test_duplicate_content_is_skipped_within_and_across_uploads(factory) -> None:
    with session_scope(factory) as session:
        dataset = store.create_dataset(session, "dups")
        first = store.add_documents(session, dataset.id, [tiny_document(), tiny_document()])
    assert len(first.added) == 1 and [s.index for s in first.skipped] == [1]
    relabelled = tiny_document(facts=(Fact(0, 1, "P551"),))  # same text and entities, other labels: same content
    with session_scope(factory) as session:
        second = store.add_documents(session, dataset.id, [relabelled, tiny_document("Other title")])
    assert second.skipped[0].existing_id == first.added[0] and len(second.added) == 1
    # each skipped document says why, by its place in the upload and its title
    assert first.skipped[0].reason == ("document 1 “Ann Lee”: an earlier document of this upload is the same "
                                       "(same title, text and entities)")
    assert second.skipped[0].reason.startswith(f"document 0 “Ann Lee”: the dataset already holds it as document "
                                               f"{first.added[0]}")
    assert count(factory, m.DocumentRow) == 2
    with session_scope(factory) as session:  # the same document may sit in another dataset
        other = store.create_dataset(session, "other")
        assert len(store.add_documents(session, other.id, [tiny_document()]).added) == 1


def test_failed_upload_stores_nothing_of_it(factory) -> None:
    with session_scope(factory) as session:
        dataset = store.create_dataset(session, "atomic")
        store.add_documents(session, dataset.id, [tiny_document("kept")])
    broken_entity = Entity((Mention("Broken", 0, 3, 1, "MISC"),))  # end before start: violates ck_mentions_span
    broken = replace(tiny_document("broken"), entities=(*tiny_document().entities, broken_entity))
    upload = [tiny_document("first"), tiny_document("second"), broken, tiny_document("last")]
    with pytest.raises(IntegrityError), session_scope(factory) as session:
        store.add_documents(session, dataset.id, upload)
    assert count(factory, m.DocumentRow) == 1
    assert count(factory, m.EntityRow) == 3 and count(factory, m.MentionRow) == 4 and count(factory, m.GoldFactRow) == 1
    with session_scope(factory) as session:
        assert [d.title for d in store.list_documents(session, dataset.id)] == ["kept"]


def test_dataset_names_are_unique_and_missing_ids_say_so(factory) -> None:
    with session_scope(factory) as session:
        store.create_dataset(session, "a")
    with pytest.raises(DuplicateError, match="exists already"), session_scope(factory) as session:
        store.create_dataset(session, "a")
    with session_scope(factory) as session:
        assert [d.name for d in store.list_datasets(session)] == ["a"]
        with pytest.raises(NotFoundError, match="no document with id 99"):
            store.get_document(session, 99)
        with pytest.raises(NotFoundError):
            store.add_documents(session, 42, [tiny_document()])


def test_document_filters_are_a_whitelist(factory) -> None:
    with session_scope(factory) as session:
        dataset = store.create_dataset(session, "filters")
        store.add_documents(session, dataset.id, [tiny_document("Big_Cat%"), tiny_document("dog", facts=None)])
        assert [d.title for d in store.list_documents(session, dataset.id, {"title": "cat%"})] == ["Big_Cat%"]
        assert [d.title for d in store.list_documents(session, dataset.id, {"title": "_"})] == ["Big_Cat%"]
        assert [d.title for d in store.list_documents(session, dataset.id, {"has_labels": False})] == ["dog"]
        with pytest.raises(ValueError, match="allowed: has_labels, title"):
            store.list_documents(session, dataset.id, {"titel": "x"})


def pair_scores(title: str) -> PairScores:
    heads, tails = np.array([0, 1, 0]), np.array([1, 0, 2])
    logits = np.array([[0.5, 1.25, -2.0], [1.0, 0.0, 0.5], [0.0, -1.5, 3.0]], dtype=np.float32)
    probs = np.array([[0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]], dtype=np.float32)
    grids = tuple(MentionPairGrid(np.full((1, 2), 0.5, np.float32), np.full((1, 2, 2), 0.25, np.float32))
                  for _ in range(3))
    return PairScores(title, "kmgre.v1", ("P17", "P27"), heads, tails, logits, probs, logits[:, 1:] > logits[:, :1],
                      extras={"mention_grids": MentionGrids("key mention pairs", grids)})


def test_pair_scores_are_compact_and_round_trip(factory) -> None:
    ids = seed(factory, [])
    scores = pair_scores("Ann Lee")
    with session_scope(factory) as session:
        store.save_pair_scores(session, ids["run"], ids["doc"], scores)
        store.save_pair_scores(session, ids["run"], ids["doc"], scores)  # a re-run replaces, never duplicates
    with session_scope(factory) as session:
        back = store.load_pair_scores(session, ids["run"], ids["doc"])
        payload = session.scalar(select(m.PairScoreBlobRow.payload))
        run = store.get_run(session, ids["run"])
        with pytest.raises(NotFoundError, match="no scores"):
            store.load_pair_scores(session, ids["run"], ids["doc"] + 1)
    for name in ("heads", "tails", "logits", "probabilities", "decoded"):
        np.testing.assert_array_equal(getattr(back, name), getattr(scores, name))
    np.testing.assert_array_equal(back.extra("mention_grids").grids[2].relation_probability,
                                  scores.extra("mention_grids").grids[2].relation_probability)
    assert decode_scores(payload).title == "Ann Lee"  # a NumPy archive, compact once a document has pairs:
    many = sparse_scores(40, [(0, 1)])
    assert len(encode_scores(many).payload) < len(json.dumps(many.to_json())) / 4
    assert (run.method, run.version, run.seconds, run.n_scored) == ("atlop.v1", "0.1.0", 1.5, 1)
    assert count(factory, m.PairScoreBlobRow) == 1


def test_scores_saved_encoded_are_the_scores_saved_as_arrays(factory) -> None:
    """A scoring job encodes a chunk's scores and frees the arrays before the write (the peak of a long
    document): what it stores must be what saving the arrays stores."""
    ids = seed(factory, [])
    scores = pair_scores("Ann Lee")
    with session_scope(factory) as session:
        store.save_pair_scores(session, ids["run"], ids["doc"], scores)
        as_arrays = session.scalar(select(m.PairScoreBlobRow.payload))
        encoded = store.encode_scores(scores)
        store.save_pair_scores(session, ids["run"], ids["doc"], encoded)  # replaces the row, as a re-run does
    with session_scope(factory) as session:
        row = session.scalars(select(m.PairScoreBlobRow)).one()
        back = store.load_pair_scores(session, ids["run"], ids["doc"])
        assert (bytes(row.payload), row.n_pairs) == (bytes(as_arrays), len(scores.heads)) == (encoded.payload, 3)
    np.testing.assert_array_equal(back.logits, scores.logits)


def test_suggestions_are_unique_per_triple_and_collect_their_runs(factory) -> None:
    ids = seed(factory, [(0, 1, "P551", 0.9), (0, 2, "P27", 0.7)])
    with session_scope(factory) as session:
        run2 = store.record_run(session, ids["dataset"], checkpoint="runs/p3m", method="p3m.v1", version="0.1.0",
                                seconds=2.0)
        again = store.add_suggestions(session, ids["dataset"], [
            {"doc_id": ids["doc"], "h_idx": 0, "t_idx": 2, "r": "P27", "score": 0.95, "evidence": {"by": "p3m"}}],
            run_ids=[run2])
        view = store.get_suggestion(session, again[0])
    assert again == [ids["suggestions"][1]] and count(factory, m.SuggestionRow) == 2
    assert view.score == 0.95 and [s.method for s in view.sources] == ["atlop.v1", "p3m.v1"]
    # each source's support comes back typed; parts a stored value lacks are empty
    assert view.supports == {f"atlop.v1#{ids['run']}": Support({}, 0, (0,), None),
                             f"p3m.v1#{run2}": Support({}, 0, (), None)}
    assert (view.head_name, view.tail_name, view.document_title, view.state) == ("Ann Lee", "France", "Ann Lee",
                                                                                 "pending")
    with pytest.raises(IntegrityError), session_scope(factory) as session:  # the database itself refuses twins
        session.add(m.SuggestionRow(document_id=ids["doc"], h=0, t=1, relation="P551", score=0.1, created_at=utc_now()))
        session.flush()


def test_suggestion_items_are_checked(factory) -> None:
    ids = seed(factory, [])
    bad = [({"doc_id": ids["doc"], "h_idx": 0, "t_idx": 0, "relation": "P17", "score": 1.0}, "two different"),
           ({"doc_id": ids["doc"], "h_idx": 0, "t_idx": 5, "relation": "P17", "score": 1.0}, "two different"),
           ({"doc_id": ids["doc"], "h_idx": 0, "t_idx": 1, "score": 1.0}, "missing"),
           ({"doc_id": ids["doc"], "h_idx": 0, "t_idx": 1, "r": "P17", "score": 1.0, "colour": 1}, "unknown")]
    for item, message in bad:
        with pytest.raises(ValueError, match=message), session_scope(factory) as session:
            store.add_suggestions(session, ids["dataset"], [item], run_ids=[ids["run"]])
    with pytest.raises(NotFoundError), session_scope(factory) as session:
        store.add_suggestions(session, ids["dataset"], [], run_ids=[ids["run"] + 7])
    assert count(factory, m.SuggestionRow) == 0


def test_listing_sorts_pages_and_filters(factory) -> None:
    ids = seed(factory, [(0, 1, "P551", 0.5), (0, 2, "P27", 0.9), (1, 0, "P131", 0.7), (2, 1, "P150", 0.1)])
    with session_scope(factory) as session:
        ds = ids["dataset"]
        page = store.list_suggestions(session, ds, limit=2, offset=1)
        assert page.total == 4 and [s.relation for s in page.items] == ["P131", "P551"]
        assert [s.relation for s in store.list_suggestions(session, ds, {"relation": "P27"}).items] == ["P27"]
        assert store.list_suggestions(session, ds, {"min_score": 0.6}).total == 2
        assert store.list_suggestions(session, ds, {"method": "atlop.v1", "document": ids["doc"]}).total == 4
        assert store.list_suggestions(session, ds, {"method": "paee.v1"}).total == 0
        assert store.list_suggestions(session, ds, {"run": ids["run"], "state": "pending"}).total == 4
        store.record_review(session, ids["suggestions"][0], "ann", "skip")
        assert store.list_suggestions(session, ds, {"reviewed_by": "ann"}).total == 1
        assert store.list_suggestions(session, ds, {"unreviewed_by": "ann"}).total == 3
        assert store.list_suggestions(session, ds, {"state": "skipped"}).items[0].id == ids["suggestions"][0]
        with pytest.raises(ValueError,
                           match="allowed: assigned_to, control, disputed, document, method, min_score, relation"):
            store.list_suggestions(session, ds, {"sql": "1=1"})
        with pytest.raises(ValueError, match="state"):
            store.list_suggestions(session, ds, {"state": "done"})


def test_tables_match_the_issue(db_engine) -> None:
    tables = set(inspect(db_engine).get_table_names())
    assert {"datasets", "documents", "entities", "mentions", "gold_facts", "model_runs", "pair_scores",
            "suggestions", "reviews", "annotators"} <= tables
