"""Journaling the events of one queue entry: every ``queue.*``, ``agent.*`` and ``callback.*`` event
names its queue and entry number (storage keys ``queue_calls`` rows by call id and entry)."""

from __future__ import annotations

from typing import Any, Protocol

from ccapp.calls.call import Call
from ccapp.calls.model import EventKind


class QueueEntry(Protocol):
    """A call's stay in a queue: a waiting caller's session, or a callback waiting for its turn."""

    call: Call
    queue: str
    entry: int


def record(owner: QueueEntry, kind: EventKind, **data: Any) -> None:
    """Journal ``kind`` on ``owner``'s call with its queue and entry number first, then ``data``."""
    owner.call.record(kind, {"queue": owner.queue, "entry": owner.entry, **data})
