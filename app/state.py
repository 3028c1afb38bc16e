"""Typed getters and setters over `st.session_state`: the only place that knows its key strings."""
from __future__ import annotations

from typing import Any, TypeVar

import streamlit as st

from app.services.review import ReviewFilters

T = TypeVar("T")

_ANNOTATOR = "docre.annotator"
_ROLE = "docre.role"
_DATASET = "docre.dataset_id"
_DOCUMENT = "docre.document_id"
_PAIR = "docre.pair"
_FILTERS = "docre.review_filters"
_BLIND = "docre.blind"
_CURRENT = "docre.review_current"
_UNDO_TARGET = "docre.undo_target"
_PENDING_TEXT = "docre.pending_text"
_FLASH = "docre.flash"
_JOB = "docre.scoring_job"
_OFFSET = "docre.review_offset"
_UPLOAD_ROUND = "docre.upload_round"
_MARKS = "docre.pair_marks"
_LAST_PAIR = "docre.last_pair_decision"
_PANEL_FLASH = "docre.panel_flash"


class Keys:
    """Widget and form keys (a widget's value lives in session_state under its key)."""

    ACCEPT = "docre.w.accept"
    AUDIT_NAME = "docre.w.audit_name"
    AUDIT_OUTCOME = "docre.w.audit_outcome"
    AUDIT_PAGE = "docre.w.audit_page"
    ACCEPTANCE = "docre.w.acceptance"
    CHANGE_NAME = "docre.w.change_name"
    CMP_A = "docre.w.cmp_a"
    CONTROL_ALL = "docre.w.control_all"
    CONTROL_DOCS = "docre.w.control_docs"
    CONTROL_RATE = "docre.w.control_rate"
    CMP_B = "docre.w.cmp_b"
    DATASET = "docre.w.dataset"
    DIFF_MATRIX = "docre.w.diff_matrix"
    DL_CSV = "docre.w.dl_csv"
    DL_JSON = "docre.w.dl_json"
    DOCUMENT = "docre.w.document"
    GRID = "docre.w.grid"
    # annotation and entity editing (app/panels): prefixes; each widget adds its document, pair or item
    ANNOTATE = "docre.w.annotate"
    TRIPLE_PANEL = "docre-triple-panel"  # a container: its CSS class (st-key-...) scopes the Document page's keys
    EDIT_PAIR_FORM = "docre.f.edit_pair"
    ENTITY_EDIT = "docre.w.entity_edit"
    FLAG_FORM = "docre.f.flag"
    FLAG_VERDICT = "docre.w.flag_verdict"
    HEAD = "docre.w.head"
    INGEST = "docre.w.ingest"
    JSON_UPLOAD = "docre.w.json_upload"
    LOGITS = "docre.w.logits"
    LOGOUT = "docre.w.logout"
    MARGINS = "docre.w.margins"
    MATRIX = "docre.w.matrix"
    MATRIX_MODE = "docre.w.matrix_mode"
    MENTIONS = "docre.w.mentions"
    MODELS_JSON = "docre.w.models_json"
    MODELS_STORED = "docre.w.models_stored"
    MODELS_TEXT = "docre.w.models_text"
    NEXT = "docre.w.next"
    NOTE = "docre.w.note"
    OVERLAP = "docre.w.overlap"
    PASTED = "docre.w.pasted"
    PER_RELATION = "docre.w.per_relation"
    REJECT = "docre.w.reject"
    RELATION = "docre.w.relation"
    RUN = "docre.w.run"
    RUN_A = "docre.w.run_a"
    RUN_B = "docre.w.run_b"
    SCORE_DATASET = "docre.w.score_dataset"
    SCORE_STORED = "docre.w.score_stored"
    SKIP = "docre.w.skip"
    QUEUE_PAGE = "docre.w.queue_page"
    QUEUE_TABLE = "docre.w.queue_table"
    SPLIT = "docre.w.split"
    MATRIX_TYPES = "docre.w.matrix_types"
    MATRIX_ACTIVE = "docre.w.matrix_active"
    MATRIX_PAGE = "docre.w.matrix_page"  # per document: which page of a long document's entities the matrix draws
    MARK = "docre.w.mark"
    LONG_TAIL = "docre.w.long_tail"
    OPEN_FOR_ME = "docre.w.open_for_me"
    MIN_PROBABILITY = "docre.w.min_probability"
    OPEN_KMGRE = "docre.w.open_kmgre"
    STORE_JSON = "docre.w.store_json"
    STORE_TEXT = "docre.w.store_text"
    TAIL = "docre.w.tail"
    TEXT_UPLOAD = "docre.w.text_upload"
    TITLE_FILTER = "docre.w.title_filter"
    TOP_K = "docre.w.top_k"
    UNDO = "docre.w.undo"
    UPLOAD_TAB = "docre.w.upload_tab"
    USER_CREATE = "docre.f.user_create"
    USER_ROLE = "docre.f.user_role"
    USER_PASSWORD = "docre.f.user_password"
    USER_PICK = "docre.w.user_pick"
    USER_ENABLE = "docre.w.user_enable"
    USER_EVENTS_PAGE = "docre.w.user_events_page"
    NAME_FORM = "docre.f.name"
    CONTROL_FORM = "docre.f.controls"
    FINETUNE_FORM = "docre.f.finetune"
    FINETUNE_BASE = "docre.w.finetune_base"
    FINETUNE_EPOCHS = "docre.w.finetune_epochs"
    FINETUNE_RESCORE = "docre.w.finetune_rescore"
    LOGIN_FORM = "docre.f.login"
    LEARNING_FORM = "docre.f.learning"
    REFIT_EVERY = "docre.w.refit_every"
    STOP_BELOW = "docre.w.stop_below"
    YIELD_RELATION = "docre.w.yield_relation"
    YIELD_CHART = "docre.w.yield_chart"


def _get(key: str, default: T) -> T:
    return st.session_state.get(key, default)


def _set(key: str, value: Any) -> None:
    st.session_state[key] = value


# ------------------------------------------------------------------ who is annotating

def annotator() -> str | None:
    """The annotator's name (local mode: asked once; team mode: the logged-in user)."""
    return _get(_ANNOTATOR, None)


def set_annotator(name: str | None, role: str = "annotator") -> None:
    _set(_ANNOTATOR, name)
    _set(_ROLE, role)


def role() -> str:
    return _get(_ROLE, "annotator")


# ------------------------------------------------------------------ what is being looked at

def dataset_id() -> int | None:
    return _get(_DATASET, None)


def set_dataset_id(value: int | None) -> None:
    if value != dataset_id():
        set_document_id(None)
        _set(_OFFSET, 0)
        _set(_CURRENT, None)
    _set(_DATASET, value)


def document_id() -> int | None:
    return _get(_DOCUMENT, None)


def set_document_id(value: int | None) -> None:
    if value != document_id():
        _set(_PAIR, None)
        st.session_state.pop(Keys.HEAD, None)
        st.session_state.pop(Keys.TAIL, None)
    _set(_DOCUMENT, value)


def selected_pair() -> tuple[int, int] | None:
    """(head, tail) entity indices of the pair opened in the Document and Compare pages (head != tail).
    The head/tail selects' values count as soon as the run starts, so views drawn above them agree."""
    h, t = st.session_state.get(Keys.HEAD), st.session_state.get(Keys.TAIL)
    if h is not None and t is not None and h != t:
        return int(h), int(t)
    pair = _get(_PAIR, None)
    return (int(pair[0]), int(pair[1])) if pair else None


def set_selected_pair(value: tuple[int, int] | None, *, move_pickers: bool = True) -> None:
    """With move_pickers, also moves the head/tail selects (only before they are drawn in this run)."""
    _set(_PAIR, value)
    if value is not None and move_pickers:
        _set(Keys.HEAD, int(value[0]))
        _set(Keys.TAIL, int(value[1]))


def chart_pair(chart_key: str) -> tuple[int, int] | None:
    """The pair last clicked in a matrix chart (its selection event, read before the chart is drawn)."""
    event = st.session_state.get(chart_key)
    if event is None:
        return None
    from .components.matrix import selected_pair as pair_of_event  # noqa: PLC0415

    return pair_of_event(event)


def take_new_chart_pair(chart_key: str) -> tuple[int, int] | None:
    """The chart's clicked pair if it changed since last asked (so pickers can still move the pair)."""
    pair = chart_pair(chart_key)
    seen_key = f"{chart_key}.seen"
    if pair == st.session_state.get(seen_key):
        return None
    st.session_state[seen_key] = pair
    return pair


def choose_run(picker_key: str, run_id: int) -> None:
    """A button's on_click: move a run picker (callbacks run before the picker is drawn again)."""
    st.session_state[picker_key] = run_id


def take_new_table_row(table_key: str) -> int | None:
    """The row last clicked in a single-row dataframe if the click is new (a decision afterwards must not
    reopen the same row)."""
    event = st.session_state.get(table_key)
    rows = list(getattr(getattr(event, "selection", None), "rows", None) or
                ((event or {}).get("selection", {}).get("rows", []) if isinstance(event, dict) else []))
    row = rows[0] if rows else None
    seen_key = f"{table_key}.seen"
    if row == st.session_state.get(seen_key):
        return None
    st.session_state[seen_key] = row
    return row


# ------------------------------------------------------------------ review

def review_filters() -> ReviewFilters:
    return _get(_FILTERS, ReviewFilters())


def set_review_filters(value: ReviewFilters) -> None:
    _set(_FILTERS, value)


def blind_mode(default: bool = False) -> bool:
    """Blind review hides model scores and proposed relations, so they cannot anchor the decision; `default`
    until the person chooses (services.team.blind_default: on for annotators in team mode)."""
    return bool(_get(_BLIND, default))


def set_blind_mode(value: bool) -> None:
    _set(_BLIND, bool(value))


def current_suggestion() -> int | None:
    """The suggestion id the Review page shows (None: the first of the queue)."""
    return _get(_CURRENT, None)


def set_current_suggestion(value: int | None) -> None:
    _set(_CURRENT, value)


def undo_target() -> int | None:
    """The decision the Review page last showed as the one "Undo last" cancels (so an undo pressed in several
    tabs at once cancels it once, never older decisions too)."""
    return _get(_UNDO_TARGET, None)


def set_undo_target(value: int | None) -> None:
    _set(_UNDO_TARGET, value)


# ------------------------------------------------------------------ upload and messages

def pending_text() -> Any | None:
    """An ingested text document awaiting the user's entity fixes before it is stored and scored."""
    return _get(_PENDING_TEXT, None)


def set_pending_text(value: Any | None) -> None:
    _set(_PENDING_TEXT, value)


def scoring_job() -> int | None:
    """The store id of the scoring job this session started last (polled by the Upload page)."""
    return _get(_JOB, None)


def set_scoring_job(value: int | None) -> None:
    _set(_JOB, value)


def pair_marks(pair: tuple[int, int, int]) -> frozenset[int]:
    """Suggestion ids marked for acceptance on the pair (document id, head, tail) on screen."""
    marks = _get(_MARKS, {})
    return frozenset(marks.get(pair, ()))


def toggle_pair_mark(pair: tuple[int, int, int], suggestion_id: int) -> None:
    """Mark a relation of the pair on screen for acceptance, or unmark it; marks of other pairs are dropped."""
    _set(_MARKS, {pair: pair_marks(pair) ^ {suggestion_id}})


def clear_pair_marks() -> None:
    _set(_MARKS, {})


def last_pair_decision() -> tuple[int, ...]:
    """The suggestion ids the annotator's latest pair decision reviewed: Undo takes them back together."""
    return tuple(_get(_LAST_PAIR, ()))


def set_last_pair_decision(value: tuple[int, ...]) -> None:
    _set(_LAST_PAIR, tuple(value))


def review_offset() -> int:
    """Position in the filtered Review queue of the item on screen."""
    return int(_get(_OFFSET, 0))


def set_review_offset(value: int) -> None:
    _set(_OFFSET, max(int(value), 0))


def upload_round() -> int:
    """Bumped after each stored upload, so the file uploaders start empty (no accidental second store)."""
    return int(_get(_UPLOAD_ROUND, 0))


def next_upload_round() -> None:
    _set(_UPLOAD_ROUND, upload_round() + 1)


def push_flash(message: str, kind: str = "success") -> None:
    """A message to show once on the next run (after st.rerun)."""
    _set(_FLASH, [*_get(_FLASH, []), (kind, message)])


def pop_flash() -> list[tuple[str, str]]:
    messages = list(_get(_FLASH, []))
    _set(_FLASH, [])
    return messages


def push_panel_flash(panel: str, message: str, kind: str = "success") -> None:
    """A message to show once, after st.rerun, inside a panel (where the user acted, far below the page's top)."""
    _set(_PANEL_FLASH, {**_get(_PANEL_FLASH, {}), panel: [*_get(_PANEL_FLASH, {}).get(panel, []), (kind, message)]})


def pop_panel_flash(panel: str) -> list[tuple[str, str]]:
    pending = dict(_get(_PANEL_FLASH, {}))
    messages = pending.pop(panel, [])
    _set(_PANEL_FLASH, pending)
    return list(messages)


def widget_value(key: str) -> Any:
    """A widget's current value, for an on_change callback (which gets no value of its own)."""
    return st.session_state.get(key)
