"""ACD: queue_calls, agent_states, transfers, recordings, dispositions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written by hand on purpose: migrations must not import the live models, which will move on.
UtcTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "queue_calls",
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("entry", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("entered_at", UtcTime, nullable=True),
        sa.Column("left_at", UtcTime, nullable=True),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.Column("target", sa.String(), nullable=True),
        sa.Column("wait_s", sa.Float(), nullable=True),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("offered_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("no_answer_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("connected_at", UtcTime, nullable=True),
        sa.Column("disconnected_at", UtcTime, nullable=True),
        sa.Column("ring_s", sa.Float(), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.Column("hold_s", sa.Float(), nullable=True),
        sa.Column("callback", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("caller_number", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("call_id", "entry", name="pk_queue_calls"),
    )
    op.create_index("ix_queue_calls_queue_entered_at", "queue_calls", ["queue", "entered_at"])
    op.create_index("ix_queue_calls_agent_id_connected_at", "queue_calls", ["agent_id", "connected_at"])

    op.create_table(
        "agent_states",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("stream_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("at", UtcTime, nullable=False),
        sa.Column("from_state", sa.String(), nullable=True),
        sa.Column("to_state", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("call_id", sa.String(), nullable=True),
        sa.Column("queue", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_agent_states"),
        sa.UniqueConstraint("stream_id", "seq", name="uq_agent_states_stream_id_seq"),
    )
    op.create_index("ix_agent_states_agent_id_at", "agent_states", ["agent_id", "at"])

    op.create_table(
        "transfers",
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UtcTime, nullable=False),
        sa.Column("kind", sa.String(), nullable=True),
        sa.Column("by_agent", sa.String(), nullable=True),
        sa.Column("target_type", sa.String(), nullable=True),
        sa.Column("target", sa.String(), nullable=True),
        sa.Column("topic", sa.String(), nullable=True),
        sa.Column("expected", sa.String(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.Column("correct", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("call_id", "seq", name="pk_transfers"),
    )

    op.create_table(
        "recordings",
        sa.Column("recording_id", sa.String(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("queue", sa.String(), nullable=True),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("policy", sa.String(), nullable=True),
        sa.Column("started_at", UtcTime, nullable=True),
        sa.Column("ended_at", UtcTime, nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("paused_s", sa.Float(), nullable=True),
        sa.Column(
            "paused_spans",
            sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql"),
            nullable=True,
        ),
        sa.Column("path", sa.String(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("deleted_at", UtcTime, nullable=True),
        sa.PrimaryKeyConstraint("recording_id", name="pk_recordings"),
    )
    op.create_index("ix_recordings_call_id", "recordings", ["call_id"])
    op.create_index("ix_recordings_started_at", "recordings", ["started_at"])

    op.create_table(
        "dispositions",
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UtcTime, nullable=False),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=True),
        sa.Column("topic", sa.String(), nullable=True),
        sa.Column("notes", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("call_id", "seq", name="pk_dispositions"),
    )


def downgrade() -> None:
    op.drop_table("dispositions")
    op.drop_index("ix_recordings_started_at", table_name="recordings")
    op.drop_index("ix_recordings_call_id", table_name="recordings")
    op.drop_table("recordings")
    op.drop_table("transfers")
    op.drop_index("ix_agent_states_agent_id_at", table_name="agent_states")
    op.drop_table("agent_states")
    op.drop_index("ix_queue_calls_agent_id_connected_at", table_name="queue_calls")
    op.drop_index("ix_queue_calls_queue_entered_at", table_name="queue_calls")
    op.drop_table("queue_calls")
