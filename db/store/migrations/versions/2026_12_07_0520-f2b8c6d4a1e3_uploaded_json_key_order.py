"""Uploaded JSON keeps its key order on PostgreSQL: documents.extra, documents.source and gold_facts.extra become
JSON instead of JSONB (JSONB reorders keys, so exports differed from the upload). SQLite stores JSON as text
already: nothing changes there. Rows stored before keep the order JSONB gave them.

Revision ID: f2b8c6d4a1e3
Revises: f2b8d4a6c1e3
Create Date: 2026-12-07 05:20:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "f2b8c6d4a1e3"
down_revision: str | None = "f2b8d4a6c1e3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("documents", "extra"), ("documents", "source"), ("gold_facts", "extra"))


def _retype(kind: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {kind} USING {column}::{kind}")


def upgrade() -> None:
    _retype("json")


def downgrade() -> None:
    _retype("jsonb")
