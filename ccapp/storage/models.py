"""SQLAlchemy models: the journal (`call_events`) and the rows projected from it.

CDRs are `calls` and `legs`; the ACD adds `queue_calls`, `agent_states`, `transfers`, `recordings`
and `dispositions`; the KPIs add `contacts` (repeat-contact links), the outbound tables `campaigns`,
`leads` and `dial_attempts`; the dialer adds `campaign_events` (the campaign journal), `dnc_entries`
and `lead_imports`; and the roll-ups `kpi_queue_slots` (+ `kpi_rollup_meta`).

The hand-written Alembic migrations in top-level ``migrations/`` create exactly these tables; a test
compares the two so they cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL keeps the offset (``timestamptz``); SQLite stores text without one, so values are
    normalised to UTC on the way in and marked UTC on the way out. Naive input is taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        # SQLite's DATETIME text has no offset; drop it so the stored text sorts and compares as UTC.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: JSON on SQLite, JSONB on PostgreSQL (indexable, compact).
JsonData = JSON().with_variant(JSONB(), "postgresql")


#: Constraint names match the hand-written migrations, so later migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of ccapp's tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class CallRow(Base):
    """One caller's journey (a CDR). Every column but the key may be NULL until its event arrives.

    Strings are unbounded on purpose: a long caller name must never make a journal batch fail.
    """

    __tablename__ = "calls"

    call_id: Mapped[str] = mapped_column(String(), primary_key=True)
    direction: Mapped[str | None] = mapped_column(String())
    via: Mapped[str | None] = mapped_column(String())
    entry: Mapped[str | None] = mapped_column(String())
    caller_number: Mapped[str | None] = mapped_column(String())
    caller_name: Mapped[str | None] = mapped_column(String())
    called_number: Mapped[str | None] = mapped_column(String())
    started_at: Mapped[datetime | None] = mapped_column(index=True)
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    duration_s: Mapped[float | None] = mapped_column(Float)
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    hangup_cause_text: Mapped[str | None] = mapped_column(String())
    outcome: Mapped[str | None] = mapped_column(String())
    digits: Mapped[str | None] = mapped_column(String())
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class LegRow(Base):
    """One channel of a call, keyed by Asterisk's channel unique id."""

    __tablename__ = "legs"

    leg_id: Mapped[str] = mapped_column(String(), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(), ForeignKey("calls.call_id"), index=True)
    channel: Mapped[str | None] = mapped_column(String())
    role: Mapped[str | None] = mapped_column(String())
    endpoint: Mapped[str | None] = mapped_column(String())
    caller_number: Mapped[str | None] = mapped_column(String())
    created_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    hangup_cause_text: Mapped[str | None] = mapped_column(String())


class CallEventRow(Base):
    """One journal event, stored exactly once per (call_id, seq)."""

    __tablename__ = "call_events"
    __table_args__ = (
        UniqueConstraint("call_id", "seq", name="uq_call_events_call_id_seq"),
        Index("ix_call_events_at", "at"),
    )

    # BigInteger on PG, but SQLite only autoincrements a column declared exactly INTEGER.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    call_id: Mapped[str] = mapped_column(String())
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String())
    data: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)


#: JSON where Python ``None`` is SQL NULL (not JSON ``null``), so ``COALESCE`` merges treat it as "no news".
NullableJson = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class QueueCallRow(Base):
    """One queue entry of a call (``entry`` 1, 2, … when it overflows or is transferred to a queue).

    Projected from the call's ``queue.*``, ``agent.*`` and ``callback.*`` events; the KPIs of a queue
    (offered, service level, ASA, abandon rate, AHT) are computed from these rows.
    """

    __tablename__ = "queue_calls"
    __table_args__ = (
        Index("ix_queue_calls_queue_entered_at", "queue", "entered_at"),
        Index("ix_queue_calls_agent_id_connected_at", "agent_id", "connected_at"),
    )

    call_id: Mapped[str] = mapped_column(String(), primary_key=True)
    entry: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue: Mapped[str | None] = mapped_column(String())
    priority: Mapped[int | None] = mapped_column(Integer)
    entered_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String())
    target: Mapped[str | None] = mapped_column(String())
    wait_s: Mapped[float | None] = mapped_column(Float)
    agent_id: Mapped[str | None] = mapped_column(String())
    offered_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    no_answer_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    connected_at: Mapped[datetime | None]
    disconnected_at: Mapped[datetime | None]
    ring_s: Mapped[float | None] = mapped_column(Float)
    talk_s: Mapped[float | None] = mapped_column(Float)
    hold_s: Mapped[float | None] = mapped_column(Float)
    callback: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    caller_number: Mapped[str | None] = mapped_column(String())
    #: the call's first required skill (its own ``skill_<name>`` variable, else the queue's first skill)
    skill: Mapped[str | None] = mapped_column(String())
    #: wrap-up of every agent who handled the entry (``agent.wrapped`` events), NULL until one ends
    wrap_s: Mapped[float | None] = mapped_column(Float)


class AgentStateRow(Base):
    """One agent state change, from an agent's journal stream (``agent:<agent_id>:<session>``)."""

    __tablename__ = "agent_states"
    __table_args__ = (
        UniqueConstraint("stream_id", "seq", name="uq_agent_states_stream_id_seq"),
        Index("ix_agent_states_agent_id_at", "agent_id", "at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    stream_id: Mapped[str] = mapped_column(String())
    seq: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[str] = mapped_column(String())
    at: Mapped[datetime]
    from_state: Mapped[str | None] = mapped_column(String())
    to_state: Mapped[str | None] = mapped_column(String())
    reason: Mapped[str | None] = mapped_column(String())
    call_id: Mapped[str | None] = mapped_column(String())
    queue: Mapped[str | None] = mapped_column(String())
    #: the outbound campaign the agent works in this state (the dialer fills it), else NULL
    campaign: Mapped[str | None] = mapped_column(String())


class TransferRow(Base):
    """One transfer of a call; ``correct`` is NULL when no escalation rule covers the call's topic."""

    __tablename__ = "transfers"

    call_id: Mapped[str] = mapped_column(String(), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    kind: Mapped[str | None] = mapped_column(String())
    by_agent: Mapped[str | None] = mapped_column(String())
    target_type: Mapped[str | None] = mapped_column(String())
    target: Mapped[str | None] = mapped_column(String())
    topic: Mapped[str | None] = mapped_column(String())
    expected: Mapped[str | None] = mapped_column(String())
    outcome: Mapped[str | None] = mapped_column(String())
    correct: Mapped[bool | None] = mapped_column(Boolean)


class RecordingRow(Base):
    """Metadata of one call recording; the file itself lives in ccapp's recording store."""

    __tablename__ = "recordings"

    recording_id: Mapped[str] = mapped_column(String(), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(), index=True)
    queue: Mapped[str | None] = mapped_column(String())
    agent_id: Mapped[str | None] = mapped_column(String())
    name: Mapped[str | None] = mapped_column(String())
    policy: Mapped[str | None] = mapped_column(String())
    started_at: Mapped[datetime | None] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    duration_s: Mapped[float | None] = mapped_column(Float)
    paused_s: Mapped[float | None] = mapped_column(Float)
    paused_spans: Mapped[list[list[float]] | None] = mapped_column(NullableJson)
    path: Mapped[str | None] = mapped_column(String())
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    deleted_at: Mapped[datetime | None]


class DispositionRow(Base):
    """What the agent recorded about a handled call (wrap-up code, resolution, topic)."""

    __tablename__ = "dispositions"

    call_id: Mapped[str] = mapped_column(String(), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    agent_id: Mapped[str | None] = mapped_column(String())
    outcome: Mapped[str | None] = mapped_column(String())
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    topic: Mapped[str | None] = mapped_column(String())
    notes: Mapped[str | None] = mapped_column(String())
    #: outbound: the agent spoke with the person the lead is about
    right_party: Mapped[bool | None] = mapped_column(Boolean)


class ContactRow(Base):
    """One contact (a call) for resolution KPIs: who called, about what, and how it ended.

    ``prev_at``/``next_at`` are the start times of the same number's previous and next contacts on
    the same topic, kept current as calls arrive in any order, so "repeated within W" is a column
    comparison for any W (no self-join at report time).
    """

    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_caller_number_topic_started_at", "caller_number", "topic", "started_at"),
    )

    call_id: Mapped[str] = mapped_column(String(), primary_key=True)
    caller_number: Mapped[str | None] = mapped_column(String())
    topic: Mapped[str | None] = mapped_column(String())
    started_at: Mapped[datetime | None] = mapped_column(index=True)
    #: the queue and agent that handled the call (the last connected entry)
    queue: Mapped[str | None] = mapped_column(String())
    agent_id: Mapped[str | None] = mapped_column(String())
    handled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    outcome: Mapped[str | None] = mapped_column(String())
    prev_at: Mapped[datetime | None]
    next_at: Mapped[datetime | None]


class CampaignRow(Base):
    """An outbound campaign (the dialer owns its life cycle; KPIs group by it)."""

    __tablename__ = "campaigns"

    campaign_id: Mapped[str] = mapped_column(String(), primary_key=True)
    mode: Mapped[str | None] = mapped_column(String())
    queue: Mapped[str | None] = mapped_column(String())
    #: stopped (default) | running | paused | finished; changed only through the dialer store
    status: Mapped[str | None] = mapped_column(String())
    created_at: Mapped[datetime | None]
    status_at: Mapped[datetime | None]
    updated_by: Mapped[str | None] = mapped_column(String())


class LeadRow(Base):
    """A person a campaign should reach, and where that stands.

    ``status``: new | scheduled | dialling | done | exhausted | dnc; ``data`` is JSON text of the
    import's extra columns; ``zone_source``: column | number | default.
    """

    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_campaign_id_status_next_attempt_at", "campaign_id", "status", "next_attempt_at"),
        Index("ix_leads_campaign_id_phone", "campaign_id", "phone", unique=True),
        Index("ix_leads_campaign_id_status_line", "campaign_id", "status", "line"),
    )

    lead_id: Mapped[str] = mapped_column(String(), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String())
    phone: Mapped[str] = mapped_column(String())
    time_zone: Mapped[str | None] = mapped_column(String())
    status: Mapped[str | None] = mapped_column(String())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    right_party_reached: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    line: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String())
    data: Mapped[str | None] = mapped_column(Text())
    zone_source: Mapped[str | None] = mapped_column(String())
    callback_at: Mapped[datetime | None]
    last_result: Mapped[str | None] = mapped_column(String())
    import_id: Mapped[str | None] = mapped_column(String())
    claimed_at: Mapped[datetime | None]


class CampaignEventRow(Base):
    """The campaign journal: who started, paused, stopped a campaign or imported leads, and when."""

    __tablename__ = "campaign_events"
    __table_args__ = (Index("ix_campaign_events_campaign_id_at", "campaign_id", "at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    campaign_id: Mapped[str] = mapped_column(String())
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String())
    actor: Mapped[str | None] = mapped_column(String())
    detail: Mapped[str | None] = mapped_column(Text())  # JSON text


class DncEntryRow(Base):
    """One do-not-call entry: an E.164 number (``+15551234567``) or a prefix (``+1900*``)."""

    __tablename__ = "dnc_entries"

    list_name: Mapped[str] = mapped_column(String(), primary_key=True)
    entry: Mapped[str] = mapped_column(String(), primary_key=True)
    added_at: Mapped[datetime]
    source: Mapped[str | None] = mapped_column(String())


class LeadImportRow(Base):
    """One lead-file import and its counts; written in the same transaction as its leads."""

    __tablename__ = "lead_imports"

    import_id: Mapped[str] = mapped_column(String(), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(), index=True)
    file_name: Mapped[str | None] = mapped_column(String())
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    rows: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    imported: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    duplicates: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    rejected: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    defaulted_zone: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    status: Mapped[str] = mapped_column(String())  # done | failed


class DialAttemptRow(Base):
    """One outbound dial of a lead: what the line did, what AMD said, and what the agent recorded.

    ``result``: human | machine | notsure | busy | no_answer | congestion | failed; ``abandoned``: a
    live answer that got no agent in time (the legally capped figure).
    """

    __tablename__ = "dial_attempts"
    __table_args__ = (
        Index("ix_dial_attempts_campaign_id_started_at", "campaign_id", "started_at"),
        Index("ix_dial_attempts_lead_id", "lead_id"),
        Index("ix_dial_attempts_phone_started_at", "phone", "started_at"),
    )

    attempt_id: Mapped[str] = mapped_column(String(), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String())
    lead_id: Mapped[str] = mapped_column(String())
    call_id: Mapped[str | None] = mapped_column(String())
    phone: Mapped[str | None] = mapped_column(String())
    started_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(String())
    amd: Mapped[str | None] = mapped_column(String())
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    agent_id: Mapped[str | None] = mapped_column(String())
    connected_at: Mapped[datetime | None]
    abandoned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    right_party: Mapped[bool | None] = mapped_column(Boolean)
    outcome: Mapped[str | None] = mapped_column(String())
    talk_s: Mapped[float | None] = mapped_column(Float)
    wrap_s: Mapped[float | None] = mapped_column(Float)


class KpiQueueSlotRow(Base):
    """Roll-up: additive KPI measures of one queue in one 15-minute UTC slot (``ccapp.kpi.rollup``).

    Every local 15-minute, hour, day, week or month interval of any real time zone is a whole number
    of these slots (UTC offsets are multiples of 15 minutes), so one roll-up serves every zone.
    Built with the thresholds in `KpiRollupMetaRow`; a report with other thresholds reads raw rows.
    """

    __tablename__ = "kpi_queue_slots"

    queue: Mapped[str] = mapped_column(String(), primary_key=True)
    slot: Mapped[datetime] = mapped_column(primary_key=True)
    entries: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    short_abandons: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    answered: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    answered_within_t: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    all_abandoned: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    abandoned_within_t: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    answered_timed: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    answered_wait_s: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    handled: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    handle_s: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    callbacks: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    contacts_handled: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    contacts_resolved: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    first_contacts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    first_contacts_resolved: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class KpiRollupMetaRow(Base):
    """The thresholds the roll-ups were built with (one row, ``id`` 1)."""

    __tablename__ = "kpi_rollup_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sl_threshold_s: Mapped[float] = mapped_column(Float)
    short_abandon_s: Mapped[float] = mapped_column(Float)
    repeat_window_s: Mapped[float] = mapped_column(Float)
    built_at: Mapped[datetime | None]
