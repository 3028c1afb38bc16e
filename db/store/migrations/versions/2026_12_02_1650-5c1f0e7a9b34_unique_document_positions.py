"""Unique document positions within a dataset.

Two uploads into one dataset at the same moment could both take max(position) + 1 and store documents at the
same positions (PostgreSQL, and SQLite between its read and its write). Positions taken twice are renumbered
first, in upload order (position, then id), then the plain index becomes a unique one; db.workflows.uploads retries an
upload that loses the race.

Revision ID: 5c1f0e7a9b34
Revises: 77da8506c5e2
Create Date: 2026-12-02 16:50:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "5c1f0e7a9b34"
down_revision: str | None = "77da8506c5e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# UPDATE ... FROM: PostgreSQL, and SQLite from 3.33 (Debian 12 ships 3.40, Ubuntu 24.04 3.45)
RENUMBER = """
UPDATE documents SET position = ranked.n
FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY dataset_id ORDER BY position, id) - 1 AS n FROM documents) AS ranked
WHERE ranked.id = documents.id AND documents.position <> ranked.n
"""


def upgrade() -> None:
    op.execute(RENUMBER)
    op.drop_index("ix_documents_dataset_id_position", table_name="documents")
    op.create_index("uq_documents_dataset_id_position", "documents", ["dataset_id", "position"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_documents_dataset_id_position", table_name="documents")
    op.create_index("ix_documents_dataset_id_position", "documents", ["dataset_id", "position"])
