"""Login attempts.

Every team-mode login attempt (the name typed, client, browser session, time, outcome), so failed logins can be
throttled per account and per client (db.login_audit) and curators can see who tried what, when, from where.

Revision ID: a83d2c6f1e07
Revises: 5c1f0e7a9b34
Create Date: 2026-12-02 17:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a83d2c6f1e07"
down_revision: str | None = "5c1f0e7a9b34"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("client", sa.String(length=200), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome IN ('success', 'failure', 'locked')", name=op.f("ck_login_attempts_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(op.f("ix_login_attempts_name_created_at"), "login_attempts", ["name", "created_at"])
    op.create_index(op.f("ix_login_attempts_client_created_at"), "login_attempts", ["client", "created_at"])
    op.create_index(op.f("ix_login_attempts_created_at"), "login_attempts", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_login_attempts_created_at"), table_name="login_attempts")
    op.drop_index(op.f("ix_login_attempts_client_created_at"), table_name="login_attempts")
    op.drop_index(op.f("ix_login_attempts_name_created_at"), table_name="login_attempts")
    op.drop_table("login_attempts")
