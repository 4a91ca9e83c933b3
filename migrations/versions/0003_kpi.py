"""KPIs: contacts (repeat links), outbound tables, queue roll-ups; skill and wrap-up on queue_calls.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written by hand on purpose: migrations must not import the live models, which will move on.
UtcTime = sa.DateTime(timezone=True)


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def _total(name: str) -> sa.Column[float]:
    return sa.Column(name, sa.Float(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("queue_calls") as batch:
        batch.add_column(sa.Column("skill", sa.String(), nullable=True))
        batch.add_column(sa.Column("wrap_s", sa.Float(), nullable=True))
    with op.batch_alter_table("agent_states") as batch:
        batch.add_column(sa.Column("campaign", sa.String(), nullable=True))
    with op.batch_alter_table("dispositions") as batch:
        batch.add_column(sa.Column("right_party", sa.Boolean(), nullable=True))

    op.create_table(
        "contacts",
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("caller_number", sa.String(), nullable=True),
        sa.Column("topic", sa.String(), nullable=True),
        sa.Column("started_at", UtcTime, nullable=True),
        sa.Column("queue", sa.String(), nullable=True),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("handled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.Column("prev_at", UtcTime, nullable=True),
        sa.Column("next_at", UtcTime, nullable=True),
        sa.PrimaryKeyConstraint("call_id", name="pk_contacts"),
    )
    op.create_index(
        "ix_contacts_caller_number_topic_started_at", "contacts", ["caller_number", "topic", "started_at"]
    )
    op.create_index("ix_contacts_started_at", "contacts", ["started_at"])

    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("mode", sa.String(), nullable=True),
        sa.Column("queue", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("created_at", UtcTime, nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", name="pk_campaigns"),
    )
    op.create_table(
        "leads",
        sa.Column("lead_id", sa.String(), nullable=False),
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("time_zone", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=True),
        _count("attempts"),
        sa.Column("created_at", UtcTime, nullable=True),
        sa.Column("last_attempt_at", UtcTime, nullable=True),
        sa.Column("next_attempt_at", UtcTime, nullable=True),
        sa.Column("right_party_reached", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("lead_id", name="pk_leads"),
    )
    op.create_index("ix_leads_campaign_id_status", "leads", ["campaign_id", "status"])
    op.create_table(
        "dial_attempts",
        sa.Column("attempt_id", sa.String(), nullable=False),
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("lead_id", sa.String(), nullable=False),
        sa.Column("call_id", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("started_at", UtcTime, nullable=True),
        sa.Column("answered_at", UtcTime, nullable=True),
        sa.Column("ended_at", UtcTime, nullable=True),
        sa.Column("result", sa.String(), nullable=True),
        sa.Column("amd", sa.String(), nullable=True),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("connected_at", UtcTime, nullable=True),
        sa.Column("abandoned", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("right_party", sa.Boolean(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.Column("wrap_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("attempt_id", name="pk_dial_attempts"),
    )
    op.create_index("ix_dial_attempts_campaign_id_started_at", "dial_attempts", ["campaign_id", "started_at"])
    op.create_index("ix_dial_attempts_lead_id", "dial_attempts", ["lead_id"])

    op.create_table(
        "kpi_queue_slots",
        sa.Column("queue", sa.String(), nullable=False),
        sa.Column("slot", UtcTime, nullable=False),
        _count("entries"),
        _count("short_abandons"),
        _count("answered"),
        _count("answered_within_t"),
        _count("all_abandoned"),
        _count("abandoned_within_t"),
        _count("answered_timed"),
        _total("answered_wait_s"),
        _count("handled"),
        _total("handle_s"),
        _count("callbacks"),
        _count("contacts_handled"),
        _count("contacts_resolved"),
        _count("first_contacts"),
        _count("first_contacts_resolved"),
        sa.PrimaryKeyConstraint("queue", "slot", name="pk_kpi_queue_slots"),
    )
    op.create_table(
        "kpi_rollup_meta",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sl_threshold_s", sa.Float(), nullable=False),
        sa.Column("short_abandon_s", sa.Float(), nullable=False),
        sa.Column("repeat_window_s", sa.Float(), nullable=False),
        sa.Column("built_at", UtcTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_kpi_rollup_meta"),
    )


def downgrade() -> None:
    op.drop_table("kpi_rollup_meta")
    op.drop_table("kpi_queue_slots")
    op.drop_index("ix_dial_attempts_lead_id", table_name="dial_attempts")
    op.drop_index("ix_dial_attempts_campaign_id_started_at", table_name="dial_attempts")
    op.drop_table("dial_attempts")
    op.drop_index("ix_leads_campaign_id_status", table_name="leads")
    op.drop_table("leads")
    op.drop_table("campaigns")
    op.drop_index("ix_contacts_started_at", table_name="contacts")
    op.drop_index("ix_contacts_caller_number_topic_started_at", table_name="contacts")
    op.drop_table("contacts")
    with op.batch_alter_table("dispositions") as batch:
        batch.drop_column("right_party")
    with op.batch_alter_table("agent_states") as batch:
        batch.drop_column("campaign")
    with op.batch_alter_table("queue_calls") as batch:
        batch.drop_column("wrap_s")
        batch.drop_column("skill")
