"""Initial schema: calls, legs, call_events.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written by hand on purpose: migrations must not import the live models, which will move on.
UtcTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("direction", sa.String(), nullable=True),
        sa.Column("via", sa.String(), nullable=True),
        sa.Column("entry", sa.String(), nullable=True),
        sa.Column("caller_number", sa.String(), nullable=True),
        sa.Column("caller_name", sa.String(), nullable=True),
        sa.Column("called_number", sa.String(), nullable=True),
        sa.Column("started_at", UtcTime, nullable=True),
        sa.Column("answered_at", UtcTime, nullable=True),
        sa.Column("ended_at", UtcTime, nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("hangup_cause_text", sa.String(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.Column("digits", sa.String(), nullable=True),
        sa.Column("last_seq", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("call_id", name="pk_calls"),
    )
    op.create_index("ix_calls_started_at", "calls", ["started_at"])

    op.create_table(
        "legs",
        sa.Column("leg_id", sa.String(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=True),
        sa.Column("role", sa.String(), nullable=True),
        sa.Column("endpoint", sa.String(), nullable=True),
        sa.Column("caller_number", sa.String(), nullable=True),
        sa.Column("created_at", UtcTime, nullable=True),
        sa.Column("answered_at", UtcTime, nullable=True),
        sa.Column("ended_at", UtcTime, nullable=True),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("hangup_cause_text", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["call_id"], ["calls.call_id"], name="fk_legs_call_id_calls"),
        sa.PrimaryKeyConstraint("leg_id", name="pk_legs"),
    )
    op.create_index("ix_legs_call_id", "legs", ["call_id"])

    op.create_table(
        "call_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UtcTime, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_call_events"),
        sa.UniqueConstraint("call_id", "seq", name="uq_call_events_call_id_seq"),
    )
    op.create_index("ix_call_events_at", "call_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_call_events_at", table_name="call_events")
    op.drop_table("call_events")
    op.drop_index("ix_legs_call_id", table_name="legs")
    op.drop_table("legs")
    op.drop_index("ix_calls_started_at", table_name="calls")
    op.drop_table("calls")
