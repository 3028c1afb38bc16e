"""Annotation where the model is wrong: triples made by hand (free, moved head or tail, gold flagged wrong), the
evidence sentences a reviewer marks, and the insert-only log of entity edits (each a version of the entity set).

Revision ID: a7e5c2d9b431
Revises: f2b8d5c3a917
Create Date: 2026-12-09 10:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "a7e5c2d9b431"
down_revision: str | None = "f2b8d5c3a917"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "manual_triples",
        sa.Column("suggestion_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("derived_from", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.CheckConstraint("kind IN ('free', 'moved', 'flag')", name="ck_manual_triples_kind"),
        sa.ForeignKeyConstraint(["suggestion_id"], ["suggestions.id"],
                                name="fk_manual_triples_suggestion_id_suggestions", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["annotators.id"], name="fk_manual_triples_created_by_annotators"),
        sa.ForeignKeyConstraint(["derived_from"], ["suggestions.id"],
                                name="fk_manual_triples_derived_from_suggestions", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("suggestion_id", name="pk_manual_triples"),
    )
    op.create_index("ix_manual_triples_derived_from", "manual_triples", ["derived_from"])
    op.create_table(
        "review_evidence",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("sentences", JSON, nullable=False),
        sa.ForeignKeyConstraint(["review_id"], ["reviews.id"], name="fk_review_evidence_review_id_reviews",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("review_id", name="pk_review_evidence"),
    )
    op.create_table(
        "entity_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("before", JSON, nullable=False),
        sa.Column("after", JSON, nullable=False),
        sa.Column("annotator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.CheckConstraint("kind IN ('add_mention', 'remove_mention', 'merge', 'split', 'set_type')",
                           name="ck_entity_edits_kind"),
        sa.CheckConstraint("version >= 1", name="ck_entity_edits_version"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name="fk_entity_edits_document_id_documents",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["annotator_id"], ["annotators.id"], name="fk_entity_edits_annotator_id_annotators"),
        sa.PrimaryKeyConstraint("id", name="pk_entity_edits"),
        sa.UniqueConstraint("document_id", "version", name="uq_entity_edits_document_id_version"),
    )


def downgrade() -> None:
    op.drop_table("entity_edits")
    op.drop_table("review_evidence")
    op.drop_index("ix_manual_triples_derived_from", table_name="manual_triples")
    op.drop_table("manual_triples")
