"""The store: persistence only (ORM rows, domain types, sessions, migrations) and its public API in one place,
plain functions over a Session that return domain objects.

Usage: `with session_scope(factory) as session: store.add_documents(session, dataset_id, docs)`; the scope
commits when the block succeeds and rolls the whole block back when it raises. The functions live in one
module per aggregate under `queries/`; import them from here. The store never imports torch, LightGBM or
engine.model / engine.serve / engine.curate (tests/db/test_db_layers.py): sign-in lives in `db.accounts`,
the use cases that run models in `db.workflows`."""
from __future__ import annotations

from .agreement import cohen_kappa
from .queries.account_events import AccountEventInfo, list_account_events, record_account_event
from .queries.adjudication import resolve_conflict
from .queries.annotations import (
                                  ManualDecision,
                                  add_triple,
                                  change_pair,
                                  confirm_flag,
                                  confirmed_removals,
                                  flag_gold,
                                  manual_kinds,
                                  open_flags,
                                  review_evidence,
)
from .queries.annotators import ensure_annotator, get_annotator, list_annotators, local_annotator, set_role
from .queries.assignments import SPLIT_MODES, assignment_counts, split_queue
from .queries.controls import (
                                  ControlScore,
                                  ControlSettings,
                                  control_counts,
                                  control_scores,
                                  control_settings,
                                  set_control_rate,
                                  set_fully_labelled,
)
from .queries.documents import (
                                  DOCUMENT_FILTERS,
                                  add_documents,
                                  content_hash,
                                  create_dataset,
                                  document_ids,
                                  fact_origin,
                                  get_dataset,
                                  list_datasets,
                                  list_documents,
                                  load_document,
                                  load_documents,
)
from .queries.entity_edits import (
                                  ENTITY_TYPES,
                                  EntityEdit,
                                  EntityEditError,
                                  add_mention,
                                  edit_log,
                                  entity_set,
                                  entity_set_at,
                                  merge_entities,
                                  remove_mention,
                                  scoring_runs,
                                  set_type,
                                  split_entity,
)
from .queries.export import export_documents, export_json, get_document, rejected_triples, reviewed_documents
from .queries.jobs import (
                               beat,
                               claim_job,
                               claim_next_job,
                               enqueue_finetune_job,
                               enqueue_job,
                               fail_job,
                               finish_job,
                               get_job,
                               heartbeat_age,
                               list_jobs,
                               recover_stale_jobs,
                               report_progress,
                               unfinished_run_ids,
)
from .queries.labels import PairLabels, pair_labels
from .queries.learning import (
                                  decision_count,
                                  decision_items,
                                  latest_refit,
                                  list_refits,
                                  record_refit,
                                  refit_due,
                                  review_settings,
                                  set_review_settings,
)
from .queries.pair_queue import PARTS, decide_pair, get_pair, list_pairs
from .queries.progress import AnnotatorProgress, annotator_progress
from .queries.reviews import (
                                  REVIEW_LOG_COLUMNS,
                                  annotator_pairs,
                                  record_review,
                                  relation_acceptance,
                                  review_history,
                                  review_log_rows,
                                  review_progress,
                                  undo_last_review,
)
from .queries.runs import (
                                  EncodedScores,
                                  add_run_seconds,
                                  encode_scores,
                                  get_run,
                                  list_runs,
                                  load_pair_scores,
                                  record_run,
                                  run_of_model,
                                  save_pair_scores,
                                  scored_document_ids,
)
from .queries.suggestions import (
                                  SUGGESTION_FILTERS,
                                  add_suggestions,
                                  get_suggestion,
                                  list_suggestions,
                                  rescore_suggestions,
                                  undecided_document_ids,
                                  undecided_scores,
)
from .session import database_url, init_db, make_engine, session_factory, session_scope

__all__ = [
    "AccountEventInfo", "add_documents", "add_run_seconds", "add_triple", "change_pair", "confirm_flag",
    "confirmed_removals", "flag_gold", "ManualDecision", "add_mention", "edit_log", "ENTITY_TYPES", "EntityEdit",
    "EntityEditError", "entity_set", "entity_set_at", "merge_entities", "remove_mention", "scoring_runs",
    "set_type", "split_entity", "manual_kinds", "open_flags", "review_evidence", "add_suggestions",
    "annotator_pairs", "annotator_progress", "AnnotatorProgress", "assignment_counts", "claim_job",
    "claim_next_job", "cohen_kappa", "content_hash", "control_counts", "decide_pair", "get_pair", "list_pairs",
    "PARTS", "control_scores", "control_settings", "ControlScore", "ControlSettings", "create_dataset", "beat",
    "database_url", "decision_count", "decision_items", "DOCUMENT_FILTERS", "document_ids", "enqueue_job",
    "enqueue_finetune_job", "ensure_annotator", "export_documents", "export_json", "fact_origin", "fail_job",
    "finish_job", "get_annotator",
    "get_dataset", "get_document", "get_job", "get_run", "get_suggestion", "heartbeat_age", "init_db", "latest_refit",
    "list_account_events", "list_annotators", "list_datasets", "list_documents", "list_jobs", "list_refits",
    "list_runs",
    "list_suggestions", "load_document", "load_documents", "load_pair_scores", "local_annotator", "make_engine",
    "pair_labels", "PairLabels", "record_account_event", "record_refit", "record_review", "record_run",
    "run_of_model", "recover_stale_jobs", "refit_due",
    "relation_acceptance", "report_progress", "rescore_suggestions", "resolve_conflict", "review_history",
    "REVIEW_LOG_COLUMNS", "review_log_rows", "review_progress", "review_settings", "rejected_triples",
    "reviewed_documents",
    "save_pair_scores",
    "EncodedScores", "encode_scores", "scored_document_ids", "session_factory", "session_scope", "set_control_rate",
    "set_fully_labelled", "set_review_settings", "set_role", "SPLIT_MODES", "split_queue", "SUGGESTION_FILTERS",
    "undecided_document_ids", "undecided_scores", "undo_last_review", "unfinished_run_ids",
]
