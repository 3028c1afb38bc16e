"""Which unique key a failed insert hit: two sessions racing for the same row show up as an IntegrityError on a
known key, which the store turns into a retry or a domain error instead of letting it reach the user."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class UniqueKey:
    """A unique constraint or index, as PostgreSQL names it and as SQLite lists its columns."""

    name: str  # e.g. uq_datasets_name (PostgreSQL reports the constraint or index name)
    columns: str  # e.g. "datasets.name" (SQLite reports "table.column, table.column")

    def matches(self, err: IntegrityError) -> bool:
        """True when `err` is a unique violation of this key (on either backend)."""
        diag = getattr(err.orig, "diag", None)
        name = getattr(diag, "constraint_name", None)
        if name:
            return name == self.name
        found = _SQLITE_UNIQUE.search(str(err.orig))
        return found is not None and found.group(1).strip() == self.columns


REVIEW_UNDOES = UniqueKey("uq_reviews_undoes_id", "reviews.undoes_id")
DATASET_NAME = UniqueKey("uq_datasets_name", "datasets.name")
DOCUMENT_POSITION = UniqueKey("uq_documents_dataset_id_position", "documents.dataset_id, documents.position")
DOCUMENT_CONTENT = UniqueKey("uq_documents_dataset_id_content_hash", "documents.dataset_id, documents.content_hash")
UPLOAD_KEYS: tuple[UniqueKey, ...] = (DATASET_NAME, DOCUMENT_POSITION, DOCUMENT_CONTENT)


def insert_if_absent(session: Session, model: Any, key: tuple[str, ...], **values: Any) -> None:
    """INSERT ... ON CONFLICT (key) DO NOTHING, on SQLite and PostgreSQL alike: of several sessions creating one
    row at once, one inserts and the others go on (no IntegrityError, and the transaction stays usable)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(model).values(**values).on_conflict_do_nothing(index_elements=list(key)))
