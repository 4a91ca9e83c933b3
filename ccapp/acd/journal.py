"""Journaling the events of one queue entry: every ``queue.*``, ``agent.*`` and ``callback.*`` event
names its queue and entry number (storage keys ``queue_calls`` rows by call id and entry).

Each such event is also published to the service's listeners (`AcdListener`, e.g. the real-time
wallboard), so they see exactly the facts the journal gets, as they happen.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from ccapp.calls.call import Call
from ccapp.calls.model import CallEvent, EventKind


class AcdListener(Protocol):
    """Told of the ACD's facts as they happen (`AcdService.listen`). Must not block nor raise."""

    def queue_event(self, event: CallEvent) -> None:
        """A queue-entry event, just journaled."""
        ...

    def agent_state(self, agent_id: str, state: str, queues: Iterable[str]) -> None:
        """An agent's state now (after a change, or when the agent is defined or redefined)."""
        ...

    def agent_removed(self, agent_id: str) -> None: ...


class Publisher(Protocol):
    def publish(self, event: CallEvent) -> None: ...


class QueueEntry(Protocol):
    """A call's stay in a queue: a waiting caller's session, or a callback waiting for its turn."""

    call: Call
    queue: str
    entry: int

    @property
    def service(self) -> Publisher: ...


def record(owner: QueueEntry, kind: EventKind, **data: Any) -> None:
    """Journal ``kind`` on ``owner``'s call with its queue and entry number first, then ``data``, and
    publish it to the service's listeners."""
    event = owner.call.record(kind, {"queue": owner.queue, "entry": owner.entry, **data})
    owner.service.publish(event)
