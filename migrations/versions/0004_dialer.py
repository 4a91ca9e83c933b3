"""Dialer: lead import details and scheduling columns, campaign journal, do-not-call lists, imports.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written by hand on purpose: migrations must not import the live models, which will move on.
UtcTime = sa.DateTime(timezone=True)

_LEAD_COLUMNS = (
    ("line", sa.Integer()),
    ("name", sa.String()),
    ("data", sa.Text()),
    ("zone_source", sa.String()),
    ("callback_at", UtcTime),
    ("last_result", sa.String()),
    ("import_id", sa.String()),
    ("claimed_at", UtcTime),
)


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        for name, type_ in _LEAD_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    # The new index starts with (campaign_id, status), so the old one is redundant.
    op.drop_index("ix_leads_campaign_id_status", table_name="leads")
    op.create_index(
        "ix_leads_campaign_id_status_next_attempt_at", "leads", ["campaign_id", "status", "next_attempt_at"]
    )
    op.create_index("ix_leads_campaign_id_phone", "leads", ["campaign_id", "phone"], unique=True)
    # new leads are dialled in file order: LIMIT over this index, not a sort of every new lead
    op.create_index("ix_leads_campaign_id_status_line", "leads", ["campaign_id", "status", "line"])

    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("status_at", UtcTime, nullable=True))
        batch.add_column(sa.Column("updated_by", sa.String(), nullable=True))

    op.create_index("ix_dial_attempts_phone_started_at", "dial_attempts", ["phone", "started_at"])

    op.create_table(
        "campaign_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("at", UtcTime, nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_events"),
    )
    op.create_index("ix_campaign_events_campaign_id_at", "campaign_events", ["campaign_id", "at"])

    op.create_table(
        "dnc_entries",
        sa.Column("list_name", sa.String(), nullable=False),
        sa.Column("entry", sa.String(), nullable=False),
        sa.Column("added_at", UtcTime, nullable=False),
        sa.Column("source", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("list_name", "entry", name="pk_dnc_entries"),
    )

    op.create_table(
        "lead_imports",
        sa.Column("import_id", sa.String(), nullable=False),
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("file_name", sa.String(), nullable=True),
        sa.Column("started_at", UtcTime, nullable=False),
        sa.Column("finished_at", UtcTime, nullable=True),
        sa.Column("rows", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("imported", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("duplicates", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rejected", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("defaulted_zone", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("import_id", name="pk_lead_imports"),
    )
    op.create_index("ix_lead_imports_campaign_id", "lead_imports", ["campaign_id"])


def downgrade() -> None:
    op.drop_index("ix_lead_imports_campaign_id", table_name="lead_imports")
    op.drop_table("lead_imports")
    op.drop_table("dnc_entries")
    op.drop_index("ix_campaign_events_campaign_id_at", table_name="campaign_events")
    op.drop_table("campaign_events")
    op.drop_index("ix_dial_attempts_phone_started_at", table_name="dial_attempts")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("updated_by")
        batch.drop_column("status_at")
    op.drop_index("ix_leads_campaign_id_status_line", table_name="leads")
    op.drop_index("ix_leads_campaign_id_phone", table_name="leads")
    op.drop_index("ix_leads_campaign_id_status_next_attempt_at", table_name="leads")
    op.create_index("ix_leads_campaign_id_status", "leads", ["campaign_id", "status"])
    with op.batch_alter_table("leads") as batch:
        for name, _type in reversed(_LEAD_COLUMNS):
            batch.drop_column(name)
