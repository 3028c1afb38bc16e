"""What the store hands out: small frozen dataclasses, safe to cache and to pass to the app.

Documents leave the store as `engine.data.documents.Document`; everything else as one of these."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.data.support import Support

PENDING, SKIPPED, ACCEPTED, REJECTED, CONFLICT = "pending", "skipped", "accepted", "rejected", "conflict"
STATES: tuple[str, ...] = (PENDING, SKIPPED, ACCEPTED, REJECTED, CONFLICT)
CORRECTED = "corrected"  # an accepted suggestion whose relation the annotator changed: apart from accepted in charts
REJECT_LABEL = "reject"  # agreement label of a rejection; an acceptance's label is the relation it accepts


@dataclass(frozen=True)
class DatasetInfo:
    id: int
    name: str
    created_at: datetime
    n_documents: int


@dataclass(frozen=True)
class DocumentInfo:
    """A document's listing row, without its text."""

    id: int
    dataset_id: int
    position: int
    title: str
    num_entities: int
    num_tokens: int
    num_facts: int
    has_labels: bool


@dataclass(frozen=True)
class SkippedDocument:
    """An uploaded document not stored because the dataset already holds the same content."""

    index: int  # position in the upload
    title: str
    existing_id: int | None  # None when the duplicate was earlier in the same upload and is not stored yet

    @property
    def reason(self) -> str:
        """Why it was not stored, naming the document by its place in the upload and its title."""
        where = (f"the dataset already holds it as document {self.existing_id}" if self.existing_id is not None
                 else "an earlier document of this upload is the same")
        return f"document {self.index} “{self.title}”: {where} (same title, text and entities)"


@dataclass(frozen=True)
class AddResult:
    added: tuple[int, ...]
    skipped: tuple[SkippedDocument, ...]


@dataclass(frozen=True)
class RunInfo:
    id: int
    dataset_id: int
    checkpoint: str
    method: str
    version: str
    seconds: float
    created_at: datetime
    details: Mapping[str, Any] = field(default_factory=dict)
    n_scored: int = 0  # documents with saved pair scores


@dataclass(frozen=True)
class AnnotatorInfo:
    id: int
    name: str
    role: str
    created_at: datetime
    has_password: bool
    enabled: bool = True
    token_version: int = 0  # session tokens name it; a higher one revokes them (db.accounts.session_tokens)


@dataclass(frozen=True)
class SourceView:
    """One run that suggested a suggestion: its score and its support (None where none was recorded)."""

    run_id: int
    method: str
    checkpoint: str
    score: float
    support: Support | None


@dataclass(frozen=True)
class DecisionView:
    """An annotator's current (latest, not undone) decision on a suggestion."""

    review_id: int
    annotator: str
    role: str
    decision: str
    relation: str  # the relation accepted (corrected or suggested); the suggested one for reject/skip
    corrected: bool
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class SuggestionView:
    """A suggestion with its derived review state; `decisions` has one entry per annotator who decided."""

    id: int
    dataset_id: int
    document_id: int
    document_title: str
    h: int
    t: int
    head_name: str
    tail_name: str
    relation: str
    score: float
    state: str
    accepted_relation: str | None  # set when state is "accepted"
    decisions: tuple[DecisionView, ...]
    sources: tuple[SourceView, ...]

    @property
    def is_conflict(self) -> bool:
        return self.state == CONFLICT

    @property
    def supports(self) -> dict[str, Support]:
        """Each source's support, keyed "method#run_id" so two runs of one method stay apart."""
        return {f"{s.method}#{s.run_id}": s.support for s in self.sources if s.support is not None}


@dataclass(frozen=True)
class SuggestionPage:
    items: tuple[SuggestionView, ...]
    total: int  # matching suggestions over all pages
    limit: int
    offset: int


@dataclass(frozen=True)
class ReviewRecord:
    """One row of the review log, as recorded; `undone` says a later undo row cancelled it."""

    id: int
    suggestion_id: int
    annotator: str
    role: str
    decision: str
    relation: str | None
    note: str | None
    created_at: datetime
    undoes_id: int | None
    undone: bool


@dataclass(frozen=True)
class ReviewProgress:
    total: int
    counts: Mapping[str, int]  # suggestions per state

    @property
    def reviewed(self) -> int:
        """Suggestions someone accepted or rejected (conflicts included: they await a curator, not a first look)."""
        return sum(self.counts.get(s, 0) for s in (ACCEPTED, REJECTED, CONFLICT))


@dataclass(frozen=True)
class AnnotatorPair:
    """Two annotators' current labels on the suggestions both judged (labels: relation id or "reject")."""

    annotator_a: str
    annotator_b: str
    suggestion_ids: tuple[int, ...]
    labels_a: tuple[str, ...]
    labels_b: tuple[str, ...]


@dataclass(frozen=True)
class RelationRate:
    """How reviews went for one suggested relation. `accepted` counts suggestions accepted as suggested,
    `corrected` those accepted with another relation: the suggestion was wrong, the pair right, so a correction
    is never counted as an acceptance."""

    relation: str
    accepted: int
    rejected: int
    conflict: int
    total: int  # all suggestions of the relation, reviewed or not
    corrected: int = 0

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted as suggested, of the suggestions accepted, corrected or rejected."""
        decided = self.accepted + self.corrected + self.rejected
        return self.accepted / decided if decided else None


@dataclass(frozen=True)
class LoginAttemptInfo:
    """One recorded login attempt (never the password)."""

    id: int
    name: str
    outcome: str  # success, failure or locked
    client: str
    created_at: datetime


@dataclass(frozen=True)
class LoginOutcome:
    """What a login attempt came to: the account on success; otherwise how long to wait before answering, and
    until when the account or client is locked (set by this failure or by an earlier one)."""

    account: AnnotatorInfo | None
    delay_seconds: float = 0.0
    locked_until: datetime | None = None


@dataclass(frozen=True)
class JobInfo:
    """A scoring job as the app and workers see it; `done`/`total` count steps: each (model, document) is one
    step per 10,000 of the document's pairs (db.workflows.job_steps), so a long document's progress moves."""

    id: int
    dataset_id: int
    document_ids: tuple[int, ...]
    checkpoints: tuple[str, ...]
    run_ids: tuple[int, ...]
    requested_by: str
    status: str
    done: int
    total: int
    error: str | None
    worker_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    suggestions: int | None = None  # stored in the review queue, once done
    kind: str = "score"  # or "finetune" (db.workflows.finetune): then done/total count optimiser steps
    details: dict[str, Any] | None = field(default=None, hash=False)  # a fine-tune's settings, epoch, lineage

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 1.0


DEFAULT_REFIT_EVERY = 25  # re-rank the queue after this many new decisions on a dataset
DEFAULT_STOP_BELOW = 10.0  # call the queue done when the next 100 items are expected to hold fewer missing labels
# pairs whose best calibrated probability is below this sit in the long tail: the lowest threshold at which no
# Revisit document shows more than 60 pairs (bench/queue_threshold.py, bench/RESULTS.md)
DEFAULT_MIN_PROBABILITY = 0.22
DEFAULT_OVERLAP = 1  # annotators each item of a split queue goes to; 2 or more for an agreement study
MAX_OVERLAP = 10


@dataclass(frozen=True)
class ReviewSettings:
    """A dataset's review knobs (the defaults until a curator saves others; `updated_at` None then)."""

    dataset_id: int
    refit_every: int = DEFAULT_REFIT_EVERY
    stop_below: float = DEFAULT_STOP_BELOW
    min_probability: float = DEFAULT_MIN_PROBABILITY
    updated_by: str | None = None
    updated_at: datetime | None = None
    overlap: int = DEFAULT_OVERLAP


@dataclass(frozen=True)
class RefitInfo:
    """One refit of the ranker on a dataset's decisions (see db.store.models.RankerRefitRow)."""

    id: int
    dataset_id: int
    decisions: int
    accepted: int
    rescored: int
    seconds: float
    created_at: datetime


MISSING, VERIFY = "missing", "verify"  # what a pair item asks: are these missing labels / are these predictions right


@dataclass(frozen=True)
class PairItem:
    """One item of the grouped review queue: an entity pair with its candidate relations, best first.

    `mode` is "missing" on a labelled document (the relations are suspected missing labels) and "verify" on a
    document without labels (they are the models' predictions, to confirm or reject); `long_tail`: the pair's
    best probability is below the dataset's minimum, so it is not counted as pending."""

    document_id: int
    document_title: str
    h: int
    t: int
    head_name: str
    tail_name: str
    best_score: float
    mode: str
    long_tail: bool
    relations: tuple[SuggestionView, ...]


@dataclass(frozen=True)
class PairPage:
    items: tuple[PairItem, ...]
    total: int  # matching pairs over all pages (in the part asked for: the queue, the long tail, or both)
    queued: int  # matching pairs at or above the minimum probability
    long_tail: int  # matching pairs below it
    min_probability: float
    limit: int
    offset: int
