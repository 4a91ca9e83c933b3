"""Storage adapter: SQLAlchemy models, the durable call journal, migrations and read helpers.

The only package in ccapp that speaks SQL.
"""

from ccapp.storage.db import Database, sqlite_path
from ccapp.storage.journal import SqlJournal
from ccapp.storage.migrate import current_revision, migrations_dir, upgrade
from ccapp.storage.models import Base, CallEventRow, CallRow, LegRow, UTCDateTime
from ccapp.storage.queries import count_calls, count_events, get_call, list_events, list_legs, recent_calls

__all__ = [
    "Base",
    "CallEventRow",
    "CallRow",
    "Database",
    "LegRow",
    "SqlJournal",
    "UTCDateTime",
    "count_calls",
    "count_events",
    "current_revision",
    "get_call",
    "list_events",
    "list_legs",
    "migrations_dir",
    "recent_calls",
    "sqlite_path",
    "upgrade",
]
