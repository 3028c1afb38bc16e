"""Helpers for the store's tests: a tiny hand-written document, a seeded dataset, a team account, an emptied
PostgreSQL schema, and a predictor that dies mid-job. The fixtures (db_url, db_engine, factory) live in
tests/db/conftest.py."""
from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from db import accounts, store
from db.store.domain import AnnotatorInfo
from db.store.session import make_engine, session_scope
from engine.data.documents import Document, Entity, Fact, Mention

POSTGRES_ENV = "DOCRE_TEST_POSTGRES_URL"


def reset_postgres(url: str) -> None:
    """An empty public schema, so each test starts from nothing, as on SQLite."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def tiny_document(title: str = "Ann Lee", facts: tuple[Fact, ...] | None = (Fact(1, 2, "P17", (1,)),)) -> Document:
    """Three entities: Ann Lee (PER), Paris (LOC, two mentions), France (LOC); gold: Paris -P17-> France."""
    return Document(
        title=title,
        sents=(("Ann", "Lee", "lives", "in", "Paris", "."), ("Paris", "is", "in", "France", ".")),
        entities=(
            Entity((Mention("Ann Lee", 0, 0, 2, "PER"),)),
            Entity((Mention("Paris", 0, 4, 5, "LOC"), Mention("Paris", 1, 0, 1, "LOC"))),
            Entity((Mention("France", 1, 3, 4, "LOC"),)),
        ),
        facts=facts,
        extra={"source": "hand-written"},
    )


def seed(factory: sessionmaker[Session], suggestions: list[tuple[int, int, str, float]]) -> dict[str, object]:
    """A dataset with one tiny document, one run, the given (h, t, relation, score) suggestions and three
    people: ann and bob (annotators), cat (curator). Returns the ids."""
    with session_scope(factory) as session:
        dataset = store.create_dataset(session, "tiny")
        (doc_id,) = store.add_documents(session, dataset.id, [tiny_document()]).added
        run_id = store.record_run(session, dataset.id, checkpoint="runs/atlop", method="atlop.v1",
                                  version="0.1.0", seconds=1.5)
        ids = store.add_suggestions(session, dataset.id, [
            {"doc_id": doc_id, "h_idx": h, "t_idx": t, "relation": r, "score": s, "evidence": {"sentences": [0]}}
            for h, t, r, s in suggestions], run_ids=[run_id])
        store.ensure_annotator(session, "ann")
        store.ensure_annotator(session, "bob")
        store.ensure_annotator(session, "cat", role="curator")
    return {"dataset": dataset.id, "doc": doc_id, "run": run_id, "suggestions": ids}


def create_account(factory: sessionmaker[Session], name: str = "carol", role: str = "curator",
                   password: str = "a long enough passphrase") -> AnnotatorInfo:
    """A team account (made by the CLI, as far as the account audit knows)."""
    with session_scope(factory) as session:
        return accounts.create_user(session, name, role, password)


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs, not even the job's failure handler."""


class DiesAfter:
    """A Predictor that dies once the worker has made `budget[0]` predict calls (over all its models)."""

    def __init__(self, model, budget: list[int]) -> None:
        self.model, self.budget = model, budget

    def __getattr__(self, name: str):
        return getattr(self.model, name)

    def predict(self, docs, progress=None, pair_progress=None):
        if self.budget[0] == 0:
            raise Killed
        self.budget[0] -= 1
        return self.model.predict(docs, pair_progress=pair_progress)


def model_evidence(probability: float, model: str = "atlop.v1#1") -> dict[str, Any]:
    """A suggestion's support as scoring writes it (one model's vote, sentence 0), so a page that is not blind
    can show it all ({"sentences": [0]} alone lacks the votes)."""
    from engine.data.support import ModelVote, Support  # noqa: PLC0415 - engine only for the tests that seed

    return Support({model: ModelVote(1.0, probability)}, 1, (0,), True).to_json()
