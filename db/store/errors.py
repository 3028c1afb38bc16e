"""Errors the store raises on purpose; each message says what was expected, what came, and how to fix it."""
from __future__ import annotations

from engine.errors import DocreError


class StoreError(DocreError):
    """Base class for the store's own errors (database driver errors pass through unchanged)."""


class NotFoundError(StoreError, LookupError):
    """A dataset, document, run, suggestion, review or annotator id or name does not exist."""


class DuplicateError(StoreError):
    """A name that must be unique (dataset, annotator) is taken."""


class ReviewError(StoreError, ValueError):
    """A review cannot be recorded as asked (unknown decision, nothing to undo, ...)."""


class AccountError(StoreError, ValueError):
    """A name or password cannot be used as asked: a local-mode name that a team account owns, a weak password."""


class ConflictError(StoreError):
    """Another session changed the same rows at the same moment; nothing of this request was stored."""


class ReviewConflictError(ReviewError, ConflictError):
    """A review raced another one (the same undo from two tabs); the message says what happened instead."""


class DuplicateLabelError(ReviewError):
    """An accept would add a label the pair already has (a gold label, or one review accepted already)."""
