"""What one ``queue_calls`` or ``contacts`` row adds to the ``kpi_queue_slots`` roll-up. Pure.

Each function follows the measure definitions of `ccapp.kpi.definitions` exactly: a report summed
from these contributions equals one computed from the raw rows. A row counts in the 15-minute UTC
slot of its time (``entered_at`` of a queue entry, ``started_at`` of a contact) under its queue; a
row without a queue or that time adds nothing.

Upkeep applies ``contribution(new) − contribution(old)`` for every row a batch changed (`delta`), so
the roll-up stays exact whatever order rows change in, and a change that changes nothing adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ccapp.kpi.definitions import ROLLUP_MEASURES, Thresholds

SLOT = timedelta(minutes=15)

#: (queue, slot start) → measures
SlotKey = tuple[str, datetime]
Contributions = dict[SlotKey, dict[str, float]]


def slot_of(at: datetime) -> datetime:
    """The start of the 15-minute UTC slot holding ``at`` (naive input is taken as UTC)."""
    utc = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """The columns of a ``queue_calls`` row the measures read."""

    queue: str | None
    entered_at: datetime | None
    outcome: str | None
    wait_s: float | None
    connected_at: datetime | None
    talk_s: float | None
    hold_s: float | None
    wrap_s: float | None
    callback: bool | None

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> QueueEntry:
        return cls(*(row[name] for name in QUEUE_ENTRY_COLUMNS))


QUEUE_ENTRY_COLUMNS = (
    "queue",
    "entered_at",
    "outcome",
    "wait_s",
    "connected_at",
    "talk_s",
    "hold_s",
    "wrap_s",
    "callback",
)


@dataclass(frozen=True, slots=True)
class Contact:
    """The columns of a ``contacts`` row the measures read."""

    queue: str | None
    started_at: datetime | None
    handled: bool | None
    resolved: bool | None
    prev_at: datetime | None
    next_at: datetime | None

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> Contact:
        return cls(*(row[name] for name in CONTACT_COLUMNS))


CONTACT_COLUMNS = ("queue", "started_at", "handled", "resolved", "prev_at", "next_at")


def queue_measures(row: QueueEntry, t: Thresholds) -> dict[str, float]:
    """The queue measures of one entry (section "queue entries" of `ccapp.kpi.definitions`)."""
    wait = row.wait_s
    answered = row.outcome == "answered"
    abandoned = row.outcome == "abandoned"
    handled = row.connected_at is not None and row.talk_s is not None
    return {
        "entries": 1,
        "short_abandons": int(abandoned and wait is not None and wait < t.short_abandon_s),
        "answered": int(answered),
        "answered_within_t": int(answered and wait is not None and wait <= t.sl_threshold_s),
        "all_abandoned": int(abandoned),
        "abandoned_within_t": int(abandoned and wait is not None and wait <= t.sl_threshold_s),
        "answered_timed": int(answered and wait is not None),
        "answered_wait_s": wait if answered and wait is not None else 0.0,
        "handled": int(handled),
        "handle_s": (row.talk_s or 0.0) + (row.hold_s or 0.0) + (row.wrap_s or 0.0) if handled else 0.0,
        "callbacks": int(bool(row.callback)),
    }


def contact_measures(row: Contact, t: Thresholds) -> dict[str, float]:
    """The contact measures of one contact (section "contacts" of `ccapp.kpi.definitions`)."""
    window = timedelta(seconds=t.repeat_window_s)
    start = row.started_at
    assert start is not None  # callers place only timed contacts
    handled = bool(row.handled)
    resolved = row.resolved is True
    repeated = row.next_at is not None and row.next_at <= start + window
    first = row.prev_at is None or row.prev_at < start - window
    return {
        "contacts_handled": int(handled),
        "contacts_resolved": int(handled and resolved and not repeated),
        "first_contacts": int(handled and first),
        "first_contacts_resolved": int(first and handled and resolved and not repeated),
    }


def contribution(row: QueueEntry | Contact | None, t: Thresholds) -> Contributions:
    """What ``row`` adds to the roll-up (nothing for None: a row that did not exist)."""
    if isinstance(row, QueueEntry) and row.queue is not None and row.entered_at is not None:
        return {(row.queue, slot_of(row.entered_at)): queue_measures(row, t)}
    if isinstance(row, Contact) and row.queue is not None and row.started_at is not None:
        return {(row.queue, slot_of(row.started_at)): contact_measures(row, t)}
    return {}


def delta(
    changes: Iterable[tuple[QueueEntry | Contact | None, QueueEntry | Contact | None]], t: Thresholds
) -> Contributions:
    """Σ contribution(new) − contribution(old) over ``(old, new)`` pairs, without all-zero slots."""
    out: Contributions = {}
    for old, new in changes:
        if old == new:
            continue
        for sign, row in ((-1.0, old), (1.0, new)):
            for key, measures in contribution(row, t).items():
                into = out.setdefault(key, {})
                for name, value in measures.items():
                    if value:
                        into[name] = into.get(name, 0.0) + sign * value
    return {key: m for key, m in out.items() if any(m.values())}


def add_row(into: Contributions, row: QueueEntry | Contact, t: Thresholds) -> None:
    """Add ``row``'s measures into ``into`` (a rebuild), each slot with all roll-up measures."""
    for key, measures in contribution(row, t).items():
        slot = into.setdefault(key, dict.fromkeys(ROLLUP_MEASURES, 0.0))
        for name, value in measures.items():
            slot[name] += value


def total(rows: Iterable[QueueEntry | Contact], t: Thresholds) -> Contributions:
    """Every measure of ``rows`` summed per slot."""
    out: Contributions = {}
    for row in rows:
        add_row(out, row, t)
    return out
