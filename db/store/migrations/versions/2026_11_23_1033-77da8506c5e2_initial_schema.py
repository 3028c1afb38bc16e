"""Initial schema.

Datasets; documents with their entities, mentions and gold facts; model runs with pair scores; suggestions
with their sources; insert-only reviews; annotators.

Revision ID: 77da8506c5e2
Revises:
Create Date: 2026-11-23 10:33:06.555254
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '77da8506c5e2'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('annotators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('annotator', 'curator')", name=op.f('ck_annotators_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annotators')),
    sa.UniqueConstraint('name', name=op.f('uq_annotators_name'))
    )
    op.create_table('datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets')),
    sa.UniqueConstraint('name', name=op.f('uq_datasets_name'))
    )
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('sents', JSON, nullable=False),
    sa.Column('extra', JSON, nullable=False),
    sa.Column('has_labels', sa.Boolean(), nullable=False),
    sa.Column('num_tokens', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_documents_dataset_id_datasets'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('dataset_id', 'content_hash', name=op.f('uq_documents_dataset_id_content_hash'))
    )
    op.create_index(op.f('ix_documents_dataset_id_position'), 'documents', ['dataset_id', 'position'])
    op.create_table('model_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('checkpoint', sa.Text(), nullable=False),
    sa.Column('method', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('details', JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_model_runs_dataset_id_datasets'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_runs'))
    )
    op.create_index(op.f('ix_model_runs_dataset_id'), 'model_runs', ['dataset_id'])
    op.create_table('entities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_entities_document_id_documents'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entities')),
    sa.UniqueConstraint('document_id', 'idx', name=op.f('uq_entities_document_id_idx'))
    )
    op.create_table('gold_facts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('h', sa.Integer(), nullable=False),
    sa.Column('t', sa.Integer(), nullable=False),
    sa.Column('relation', sa.String(length=32), nullable=False),
    sa.Column('evidence', JSON, nullable=False),
    sa.Column('extra', JSON, nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.CheckConstraint("origin IN ('dataset', 'review')", name=op.f('ck_gold_facts_origin')),
    sa.CheckConstraint('h >= 0 AND t >= 0', name=op.f('ck_gold_facts_entities')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_gold_facts_document_id_documents'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gold_facts'))
    )
    op.create_index(op.f('ix_gold_facts_document_id_position'), 'gold_facts', ['document_id', 'position'])
    op.create_table('pair_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('n_pairs', sa.Integer(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_pair_scores_document_id_documents'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['model_runs.id'], name=op.f('fk_pair_scores_run_id_model_runs'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pair_scores')),
    sa.UniqueConstraint('run_id', 'document_id', name=op.f('uq_pair_scores_run_id_document_id'))
    )
    op.create_index(op.f('ix_pair_scores_document_id'), 'pair_scores', ['document_id'])
    op.create_table('suggestions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('h', sa.Integer(), nullable=False),
    sa.Column('t', sa.Integer(), nullable=False),
    sa.Column('relation', sa.String(length=32), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('h >= 0 AND t >= 0 AND h <> t', name=op.f('ck_suggestions_entities')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_suggestions_document_id_documents'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suggestions')),
    sa.UniqueConstraint('document_id', 'h', 't', 'relation', name=op.f('uq_suggestions_document_id_h_t_relation'))
    )
    op.create_index(op.f('ix_suggestions_score'), 'suggestions', ['score'])
    op.create_table('mentions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('sent_id', sa.Integer(), nullable=False),
    sa.Column('pos_start', sa.Integer(), nullable=False),
    sa.Column('pos_end', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.CheckConstraint('sent_id >= 0 AND pos_start >= 0 AND pos_end > pos_start', name=op.f('ck_mentions_span')),
    sa.ForeignKeyConstraint(['entity_id'], ['entities.id'], name=op.f('fk_mentions_entity_id_entities'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mentions')),
    sa.UniqueConstraint('entity_id', 'idx', name=op.f('uq_mentions_entity_id_idx'))
    )
    op.create_table('reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('suggestion_id', sa.Integer(), nullable=False),
    sa.Column('annotator_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('decision', sa.String(length=8), nullable=False),
    sa.Column('relation', sa.String(length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('undoes_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(decision = 'undo') = (undoes_id IS NOT NULL)", name=op.f('ck_reviews_undo_target')),
    sa.CheckConstraint("decision = 'accept' OR relation IS NULL", name=op.f('ck_reviews_relation_on_accept')),
    sa.CheckConstraint("decision IN ('accept', 'reject', 'skip', 'undo')", name=op.f('ck_reviews_decision')),
    sa.CheckConstraint("role IN ('annotator', 'curator')", name=op.f('ck_reviews_role')),
    sa.ForeignKeyConstraint(['annotator_id'], ['annotators.id'], name=op.f('fk_reviews_annotator_id_annotators')),
    sa.ForeignKeyConstraint(['suggestion_id'], ['suggestions.id'], name=op.f('fk_reviews_suggestion_id_suggestions'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['undoes_id'], ['reviews.id'], name=op.f('fk_reviews_undoes_id_reviews')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('undoes_id', name=op.f('uq_reviews_undoes_id'))
    )
    op.create_index(op.f('ix_reviews_annotator_id_id'), 'reviews', ['annotator_id', 'id'])
    op.create_index(op.f('ix_reviews_suggestion_id_annotator_id'), 'reviews', ['suggestion_id', 'annotator_id'])
    op.create_table('suggestion_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('suggestion_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('evidence', JSON, nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['model_runs.id'], name=op.f('fk_suggestion_sources_run_id_model_runs'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['suggestion_id'], ['suggestions.id'],
                            name=op.f('fk_suggestion_sources_suggestion_id_suggestions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suggestion_sources')),
    sa.UniqueConstraint('suggestion_id', 'run_id', name=op.f('uq_suggestion_sources_suggestion_id_run_id'))
    )
    op.create_index(op.f('ix_suggestion_sources_run_id'), 'suggestion_sources', ['run_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_suggestion_sources_run_id'), table_name='suggestion_sources')
    op.drop_table('suggestion_sources')
    op.drop_index(op.f('ix_reviews_suggestion_id_annotator_id'), table_name='reviews')
    op.drop_index(op.f('ix_reviews_annotator_id_id'), table_name='reviews')
    op.drop_table('reviews')
    op.drop_table('mentions')
    op.drop_index(op.f('ix_suggestions_score'), table_name='suggestions')
    op.drop_table('suggestions')
    op.drop_index(op.f('ix_pair_scores_document_id'), table_name='pair_scores')
    op.drop_table('pair_scores')
    op.drop_index(op.f('ix_gold_facts_document_id_position'), table_name='gold_facts')
    op.drop_table('gold_facts')
    op.drop_table('entities')
    op.drop_index(op.f('ix_model_runs_dataset_id'), table_name='model_runs')
    op.drop_table('model_runs')
    op.drop_index(op.f('ix_documents_dataset_id_position'), table_name='documents')
    op.drop_table('documents')
    op.drop_table('datasets')
    op.drop_table('annotators')
