"""Session tokens, atomic login throttling and account audit.

Annotators get `enabled` and `token_version` (signed session tokens name it; raising it revokes them).
`login_attempts.session_id` goes: a Streamlit session id is a bearer secret (presenting it re-attaches the
session), so it is never stored; clients recorded as "session:<id>" lose the id. `login_gate` holds the one row
every login attempt locks first, and `account_events` the audit of account changes.

Revision ID: f2b8d4a6c1e3
Revises: c9d4e6a1f3b8
Create Date: 2026-12-04 09:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f2b8d4a6c1e3"
down_revision: str | None = "c9d4e6a1f3b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("annotators") as batch:
        batch.add_column(sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column("token_version", sa.Integer(), server_default="0", nullable=False))
    op.execute("UPDATE login_attempts SET client = 'session' WHERE client LIKE 'session:%'")
    with op.batch_alter_table("login_attempts") as batch:
        batch.drop_column("session_id")
    gate = op.create_table(
        "login_gate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_gate"),
    )
    op.bulk_insert(gate, [{"id": 1, "attempts": 0}])
    op.create_table(
        "account_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_account_events"),
    )
    op.create_index("ix_account_events_created_at", "account_events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_account_events_created_at", table_name="account_events")
    op.drop_table("account_events")
    op.drop_table("login_gate")
    with op.batch_alter_table("login_attempts") as batch:
        batch.add_column(sa.Column("session_id", sa.String(64), nullable=True))
    with op.batch_alter_table("annotators") as batch:
        batch.drop_column("token_version")
        batch.drop_column("enabled")
