"""Each uploaded document's original JSON object, so export keeps every key of every document.

The engine's `Document` keeps unknown top-level and label keys but not unknown mention keys (`global_pos`,
`index`, ...); the store keeps the object as uploaded and the export starts from it. Documents stored before
this revision (and text uploads) have none and are exported from their columns as before.

Revision ID: d41b7e29c6a5
Revises: a83d2c6f1e07
Create Date: 2026-12-02 18:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d41b7e29c6a5"
down_revision: str | None = "a83d2c6f1e07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("source", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("source")
