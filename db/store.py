"""The store's public API in one place: plain functions over a Session, returning domain objects.

Usage: `with session_scope(factory) as session: store.add_documents(session, dataset_id, docs)`; the scope
commits when the block succeeds and rolls the whole block back when it raises. The functions live in one
module per aggregate; import them from here."""
from __future__ import annotations

from .agreement import cohen_kappa
from .account_audit import AccountEventInfo, list_account_events, record_account_event
from .auth import authenticate, create_user, revoke_sessions, set_enabled, set_password
from .login_audit import LOGIN_OUTCOMES, attempt_login, list_login_attempts
from .session_tokens import token_account
from .store_adjudication import resolve_conflict
from .store_assignments import SPLIT_MODES, assignment_counts, split_queue
from .control_items import ControlSync, sync_controls
from .store_controls import (ControlScore, ControlSettings, control_counts, control_scores, control_settings,
                             set_control_rate, set_fully_labelled)
from .store_annotators import ensure_annotator, get_annotator, list_annotators, local_annotator, set_role
from .store_documents import (DOCUMENT_FILTERS, add_documents, content_hash, create_dataset, document_ids,
                              fact_origin, get_dataset, list_datasets, list_documents, load_document, load_documents)
from .store_export import export_documents, export_json, get_document, reviewed_documents
from .store_reviews import (REVIEW_LOG_COLUMNS, annotator_pairs, record_review, relation_acceptance,
                            review_history, review_log_rows, review_progress, undo_last_review)
from .store_progress import AnnotatorProgress, annotator_progress
from .store_labels import PairLabels, pair_labels
from .store_jobs import claim_job, claim_next_job, enqueue_job, fail_job, finish_job, get_job, list_jobs, recover_stale_jobs, report_progress, unfinished_run_ids
from .store_runs import add_run_seconds, get_run, list_runs, load_pair_scores, record_run, save_pair_scores, scored_document_ids
from .store_learning import (decision_count, decision_items, latest_refit, list_refits, record_refit, refit_due,
                             review_settings, set_review_settings)
from .store_suggestions import (SUGGESTION_FILTERS, add_suggestions, get_suggestion, list_suggestions,
                                rescore_suggestions, undecided_scores)

__all__ = [
    "add_run_seconds", "claim_job", "claim_next_job", "enqueue_job", "fail_job", "finish_job", "get_job", "list_jobs",
    "recover_stale_jobs", "report_progress", "unfinished_run_ids",
    "AnnotatorProgress", "annotator_progress", "ControlScore", "ControlSettings", "ControlSync", "control_counts",
    "control_scores", "control_settings", "set_control_rate", "set_fully_labelled", "sync_controls", "DOCUMENT_FILTERS",
    "PairLabels", "pair_labels", "REVIEW_LOG_COLUMNS", "SUGGESTION_FILTERS",
    "add_documents", "add_suggestions", "annotator_pairs", "attempt_login", "authenticate", "cohen_kappa", "content_hash",
    "create_dataset", "create_user", "document_ids", "ensure_annotator", "export_documents", "export_json", "fact_origin",
    "get_annotator", "get_dataset", "get_document", "get_run", "get_suggestion", "list_annotators",
    "list_datasets", "list_documents", "list_login_attempts", "list_runs", "local_annotator", "list_suggestions", "load_document", "load_documents",
    "load_pair_scores", "record_review", "record_run", "relation_acceptance", "review_history",
    "review_log_rows", "review_progress", "reviewed_documents", "save_pair_scores", "scored_document_ids",
    "AccountEventInfo", "LOGIN_OUTCOMES", "list_account_events", "record_account_event", "revoke_sessions",
    "set_enabled", "token_account", "resolve_conflict", "decision_count", "decision_items", "latest_refit", "list_refits", "record_refit",
    "refit_due", "rescore_suggestions", "review_settings", "set_review_settings", "undecided_scores", "SPLIT_MODES", "assignment_counts", "split_queue", "set_password", "set_role", "undo_last_review",
]
