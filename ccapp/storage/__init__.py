"""Storage adapter: SQLAlchemy models, the durable call journal, migrations and read helpers.

The only package in ccapp that speaks SQL.
"""

from ccapp.storage.acd_queries import (
    agent_state_rows,
    disposition_rows,
    expired_recordings,
    mark_recording_deleted,
    queue_call_rows,
    recording_row,
    recording_rows,
    transfer_rows,
)
from ccapp.storage.db import Database, sqlite_path
from ccapp.storage.journal import SqlJournal
from ccapp.storage.migrate import current_revision, migrations_dir, upgrade
from ccapp.storage.models import (
    AgentStateRow,
    Base,
    CallEventRow,
    CallRow,
    DispositionRow,
    LegRow,
    QueueCallRow,
    RecordingRow,
    TransferRow,
    UTCDateTime,
)
from ccapp.storage.queries import count_calls, count_events, get_call, list_events, list_legs, recent_calls

__all__ = [
    "AgentStateRow",
    "Base",
    "CallEventRow",
    "CallRow",
    "Database",
    "DispositionRow",
    "LegRow",
    "QueueCallRow",
    "RecordingRow",
    "SqlJournal",
    "TransferRow",
    "UTCDateTime",
    "agent_state_rows",
    "count_calls",
    "count_events",
    "current_revision",
    "disposition_rows",
    "expired_recordings",
    "get_call",
    "list_events",
    "list_legs",
    "mark_recording_deleted",
    "migrations_dir",
    "queue_call_rows",
    "recent_calls",
    "recording_row",
    "recording_rows",
    "sqlite_path",
    "transfer_rows",
    "upgrade",
]
