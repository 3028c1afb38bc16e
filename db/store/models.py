"""The schema as typed SQLAlchemy 2.0 models; named constraints so migrations can refer to them.

These classes never leave `db/`: the store turns rows into `engine.data.documents` objects or `db.store.domain`
dataclasses. Reviews are insert-only (`guard_insert_only`, a before-flush hook db.store.session installs): an undo
is a new row that points at the review it cancels, so the log keeps every decision ever made."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.sql.expression import true

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
ROLES: tuple[str, ...] = ("annotator", "curator")
DECISIONS: tuple[str, ...] = ("accept", "reject", "skip")  # what an annotator can say about a suggestion
UNDO = "undo"  # a review row that cancels an earlier one (its `undoes_id`)
FACT_ORIGINS: tuple[str, ...] = ("dataset", "review")
LOGIN_OUTCOMES: tuple[str, ...] = ("success", "failure", "locked")  # locked: refused unchecked during a lock

JSONType = JSON().with_variant(JSONB(), "postgresql")
# What users uploaded, exported as they wrote it: PostgreSQL's JSONB reorders an object's keys (shorter keys
# first), its JSON type keeps the text, so the key order, as uploaded, survives export on both backends.
UploadedJSON = JSON()
UTCDateTime = DateTime(timezone=True)  # always written in UTC; SQLite drops the zone, the store re-attaches it


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __repr__(self) -> str:
        keys = [c.key for c in self.__table__.columns if c.key in {"id", "name", "title", "relation", "decision"}]
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in keys)})"


class AnnotatorRow(Base):
    """A person who reviews; `password_hash` (salted scrypt, see db.accounts.auth) is empty in local mode. A team
    account's session tokens name its `token_version`: raising it (password or role change, disabling, logging
    out) revokes every token issued before; a disabled account cannot sign in."""

    __tablename__ = "annotators"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DatasetRow(Base):
    """A named collection of uploaded documents."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DocumentRow(Base):
    """One DocRED document; `content_hash` (title, sentences, vertexSet) and `position` are unique within its
    dataset (a unique index: SQLite adds one without copying the table)."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("dataset_id", "content_hash"),
        Index("uq_documents_dataset_id_position", "dataset_id", "position", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # upload order within the dataset
    title: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    sents: Mapped[list[list[str]]] = mapped_column(JSONType)
    extra: Mapped[dict[str, Any]] = mapped_column(UploadedJSON)  # unknown top-level keys, kept for lossless export
    # the document's JSON object as uploaded (every key, mention keys too); None for text uploads and older rows
    source: Mapped[dict[str, Any] | None] = mapped_column(UploadedJSON, nullable=True)
    has_labels: Mapped[bool] = mapped_column(Boolean)
    num_tokens: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EntityRow(Base):
    """Entity `idx` of a document's vertexSet."""

    __tablename__ = "entities"
    __table_args__ = (UniqueConstraint("document_id", "idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)


class MentionRow(Base):
    """One mention: tokens sents[sent_id][pos_start:pos_end], end exclusive as in DocRED."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("entity_id", "idx"),
        CheckConstraint("sent_id >= 0 AND pos_start >= 0 AND pos_end > pos_start", name="span"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    sent_id: Mapped[int] = mapped_column(Integer)
    pos_start: Mapped[int] = mapped_column(Integer)
    pos_end: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16))


class GoldFactRow(Base):
    """A label that came with an upload. `origin` is "review" for labels an earlier export added after review
    (they carry their provenance in `extra`); labels accepted here are derived from reviews, not copied."""

    __tablename__ = "gold_facts"
    __table_args__ = (
        CheckConstraint(_in("origin", FACT_ORIGINS), name="origin"),
        CheckConstraint("h >= 0 AND t >= 0", name="entities"),
        Index(None, "document_id", "position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    h: Mapped[int] = mapped_column(Integer)
    t: Mapped[int] = mapped_column(Integer)
    relation: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[list[int]] = mapped_column(JSONType)
    extra: Mapped[dict[str, Any]] = mapped_column(UploadedJSON)
    origin: Mapped[str] = mapped_column(String(16))


class ModelRunRow(Base):
    """One scoring run of a checkpoint over (part of) a dataset."""

    __tablename__ = "model_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    checkpoint: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    seconds: Mapped[float] = mapped_column(Float)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)  # free-form: metrics, device, thresholds
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PairScoreBlobRow(Base):
    """A run's `PairScores` for one document: zlib-compressed JSON, the compact form the views reload."""

    __tablename__ = "pair_scores"
    __table_args__ = (UniqueConstraint("run_id", "document_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("model_runs.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    n_pairs: Mapped[int] = mapped_column(Integer)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class SuggestionRow(Base):
    """A suspected missing triple; one row per (document, head, tail, relation) however many models found it."""

    __tablename__ = "suggestions"
    __table_args__ = (
        UniqueConstraint("document_id", "h", "t", "relation"),
        CheckConstraint("h >= 0 AND t >= 0 AND h <> t", name="entities"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    h: Mapped[int] = mapped_column(Integer)
    t: Mapped[int] = mapped_column(Integer)
    relation: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float, index=True)  # the best score over its sources
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SuggestionSourceRow(Base):
    """Which run suggested it, with that model's score and evidence (key mentions, sentences, margins)."""

    __tablename__ = "suggestion_sources"
    __table_args__ = (UniqueConstraint("suggestion_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(ForeignKey("suggestions.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("model_runs.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType)


class ReviewRow(Base):
    """One decision, never updated or deleted. `relation` is the annotator's correction (accept only);
    an "undo" row cancels review `undoes_id`; `role` is the reviewer's role when deciding."""

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint(_in("decision", (*DECISIONS, UNDO)), name="decision"),
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint(f"(decision = '{UNDO}') = (undoes_id IS NOT NULL)", name="undo_target"),
        CheckConstraint("decision = 'accept' OR relation IS NULL", name="relation_on_accept"),
        UniqueConstraint("undoes_id"),
        Index(None, "suggestion_id", "annotator_id"),
        Index(None, "annotator_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(ForeignKey("suggestions.id", ondelete="CASCADE"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    role: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(8))
    relation: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AssignmentRow(Base):
    """Whose share of the queue a suggestion is in: a curator splits a dataset's queue (by document or
    round-robin) and deals each item to as many annotators as the dataset's overlap asks (once to each).
    Changing it changes no decision."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("suggestion_id", "annotator_id"), Index(None, "annotator_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(ForeignKey("suggestions.id", ondelete="CASCADE"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


CONTROL_KINDS: tuple[str, ...] = ("gold", "absent")  # expected answer: accept the triple / reject it


class ControlSettingRow(Base):
    """A dataset's control items: `rate` is the share of its review queue that is controls. No row means
    off (the default); a curator (team mode) or anyone (local mode) sets it (db.store.queries.controls)."""

    __tablename__ = "control_settings"
    __table_args__ = (CheckConstraint("rate >= 0 AND rate <= 0.5", name="rate"),)

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    rate: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FullyLabelledDocumentRow(Base):
    """A labelled document whose labels a curator vouches are complete, so a triple they lack is known absent:
    the only documents absent-triple controls come from."""

    __tablename__ = "fully_labelled_documents"

    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    marked_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ControlItemRow(Base):
    """Marks a suggestion as a control whose truth is known ("gold": accept; "absent": reject). The suggestion
    row itself is like any other, so the queue shows it like any other; decisions on it never reach the export."""

    __tablename__ = "control_items"
    __table_args__ = (CheckConstraint(_in("kind", CONTROL_KINDS), name="kind"),)

    suggestion_id: Mapped[int] = mapped_column(ForeignKey("suggestions.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginAttemptRow(Base):
    """One team-mode login attempt, kept for throttling and for curators to audit: the name typed (an account's or
    not) and the client (the address the connection or a trusted proxy names, else a keyed hash of the browser
    session: a session id itself is a bearer secret and is never stored)."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        CheckConstraint(_in("outcome", LOGIN_OUTCOMES), name="outcome"),
        Index(None, "name", "created_at"),
        Index(None, "client", "created_at"),
        Index(None, "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    client: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginGateRow(Base):
    """One row that every login attempt updates first: the update holds a row lock (PostgreSQL) or the write
    lock (SQLite) until the attempt is counted, so parallel attempts count and check one at a time."""

    __tablename__ = "login_gate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)


class AccountEventRow(Base):
    """An audited change to an account (created, password reset, role changed, enabled or disabled, signed out
    everywhere): who did it (a curator's name, or "cli"), to whom, what, when. Never a password."""

    __tablename__ = "account_events"
    __table_args__ = (Index(None, "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(100))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


JOB_STATUSES: tuple[str, ...] = ("queued", "running", "done", "failed")
JOB_KINDS: tuple[str, ...] = ("score", "finetune")  # db.workflows.worker runs each kind's use case


class ScoringJobRow(Base):
    """A request to score documents with models, run by a worker (a thread of the app or `python -m app.worker`).
    `done`/`total` count (model, document) steps; `run_ids` holds one model run per checkpoint once created, so
    a resumed job adds to the same runs; `heartbeat_at` tells a live worker from a dead one; `suggestions` counts
    what the finished job stored in the review queue. `kind` says which use case runs it: "score" (the above) or
    "finetune" (train the one checkpoint on the documents' reviewed labels; `done`/`total` count optimiser steps
    and `details` holds its settings, the epoch in progress and the new model's lineage)."""

    __tablename__ = "scoring_jobs"
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        CheckConstraint(_in("kind", JOB_KINDS), name="kind"),
        Index(None, "status", "id"),
        Index(None, "dataset_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    document_ids: Mapped[list[int]] = mapped_column(JSONType)
    checkpoints: Mapped[list[str]] = mapped_column(JSONType)
    run_ids: Mapped[list[int]] = mapped_column(JSONType)
    requested_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    done: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    worker_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suggestions: Mapped[int | None] = mapped_column(Integer)  # stored by the job; None until it is done
    kind: Mapped[str] = mapped_column(String(16), server_default="score")  # server-side: old INSERTs omit it
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # a fine-tune's settings and progress

class ReviewSettingsRow(Base):
    """A dataset's review knobs, set by a curator (anyone in local mode): re-rank after every `refit_every`
    decisions, and call the queue done when the next 100 items are expected to hold fewer than `stop_below`
    missing labels; hide pairs whose best probability is below `min_probability` in the long tail (NULL: the
    default); deal each item to `overlap` annotators when the queue is split (NULL: 1; 2 for an agreement study).
    No row means the defaults (db.store.queries.learning)."""

    __tablename__ = "review_settings"
    __table_args__ = (
        CheckConstraint("refit_every >= 1", name="refit_every"),
        CheckConstraint("stop_below >= 0", name="stop_below"),
        CheckConstraint("min_probability IS NULL OR (min_probability >= 0 AND min_probability <= 1)",
                        name="min_probability"),
        CheckConstraint("overlap IS NULL OR overlap >= 1", name="overlap"),
    )

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    refit_every: Mapped[int] = mapped_column(Integer)
    stop_below: Mapped[float] = mapped_column(Float)
    min_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    overlap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RankerRefitRow(Base):
    """One refit of the ranker on a dataset's decisions: how many decisions (annotators' current accepts and
    rejects) it learned from, how many of them accepts, how many pending suggestions it re-scored, how long."""

    __tablename__ = "ranker_refits"
    __table_args__ = (Index(None, "dataset_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    decisions: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    rescored: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


MANUAL_KINDS: tuple[str, ...] = ("free", "moved", "flag")  # added by hand / head or tail changed / gold flagged wrong


class ManualTripleRow(Base):
    """Marks a suggestion an annotator made rather than a model: a "free" triple added on any pair, a "moved" one
    (a suggestion's head or tail changed: `derived_from` names the original, which got a reject), or a "flag" (a
    gold label flagged wrong: its removal counts only once a curator rejects it). The suggestion row and its
    insert-only reviews hold the decision, who and when, so export, adjudication and agreement treat it as any."""

    __tablename__ = "manual_triples"
    __table_args__ = (CheckConstraint(_in("kind", MANUAL_KINDS), name="kind"), Index(None, "derived_from"))

    suggestion_id: Mapped[int] = mapped_column(ForeignKey("suggestions.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    derived_from: Mapped[int | None] = mapped_column(ForeignKey("suggestions.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReviewEvidenceRow(Base):
    """The evidence sentences a reviewer marked with an accept (insert-only like the review it belongs to)."""

    __tablename__ = "review_evidence"

    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True)
    sentences: Mapped[list[int]] = mapped_column(JSONType)


ENTITY_EDIT_KINDS: tuple[str, ...] = ("add_mention", "remove_mention", "merge", "split", "set_type")


class EntityEditRow(Base):
    """One edit of a document's entities, never changed: version `version` of the document's entity set is
    `after` (version 0 is the upload, the first edit's `before`). `details` says what moved: the index map,
    labels and suggestions re-pointed or flagged for review, the pairs whose scores went stale."""

    __tablename__ = "entity_edits"
    __table_args__ = (
        CheckConstraint(_in("kind", ENTITY_EDIT_KINDS), name="kind"),
        CheckConstraint("version >= 1", name="version"),
        UniqueConstraint("document_id", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    before: Mapped[list[Any]] = mapped_column(JSONType)  # the vertexSet before the edit
    after: Mapped[list[Any]] = mapped_column(JSONType)  # and after it
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


INSERT_ONLY: tuple[type[Base], ...] = (ReviewRow, ReviewEvidenceRow, EntityEditRow)


def guard_insert_only(session: Session, _context: Any, _instances: Any) -> None:
    """Refuse to change or delete a review or an entity edit through the ORM: the logs are the source of every
    state."""
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, INSERT_ONLY) and (obj in session.deleted or session.is_modified(obj)):
            raise ValueError(f"{obj.__tablename__} are insert-only; record a new row instead of changing {obj!r}")
