"""`Call`: one caller's whole journey, numbering its journal events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccapp.calls.model import CallEvent, Direction, EventKind, Leg, Via, new_call_id
from ccapp.calls.ports import CallJournal
from ccapp.clock import Clock


class Call:
    """A call and its legs. All journal events of a call go through `record`."""

    def __init__(
        self,
        *,
        journal: CallJournal,
        clock: Clock,
        direction: Direction,
        via: Via,
        entry: str,
        call_id: str | None = None,
    ) -> None:
        self.call_id = call_id or new_call_id()
        self.direction = direction
        self.via = via
        self.entry = entry
        self.legs: dict[str, Leg] = {}
        self.ended = False
        #: who called and what they dialled (set by `start`)
        self.caller_number: str | None = None
        self.caller_name: str | None = None
        self.called_number: str | None = None
        self._journal = journal
        self._clock = clock
        self._seq = 0

    def record(self, kind: EventKind, data: Mapping[str, Any] | None = None) -> CallEvent:
        """Journal one event with the next sequence number."""
        self._seq += 1
        event = CallEvent(self.call_id, self._seq, self._clock.now(), kind, dict(data or {}))
        self._journal.append(event)
        return event

    def start(
        self,
        leg: Leg,
        *,
        caller_name: str | None = None,
        called_number: str | None = None,
    ) -> None:
        """Journal the call's start and its first leg."""
        self.caller_number = leg.caller_number
        self.caller_name = caller_name
        self.called_number = called_number
        self.record(
            EventKind.CALL_STARTED,
            {
                "direction": self.direction.value,
                "via": self.via.value,
                "entry": self.entry,
                "caller_number": leg.caller_number,
                "caller_name": caller_name,
                "called_number": called_number,
            },
        )
        self.add_leg(leg)

    def add_leg(self, leg: Leg) -> None:
        self.legs[leg.leg_id] = leg
        self.record(
            EventKind.LEG_ADDED,
            {
                "leg_id": leg.leg_id,
                "channel": leg.channel,
                "role": leg.role,
                "endpoint": leg.endpoint,
                "caller_number": leg.caller_number,
            },
        )

    def leg_answered(self, leg_id: str) -> None:
        leg = self.legs.get(leg_id)
        if leg is None or leg.answered_at is not None:
            return
        leg.answered_at = self._clock.now()
        self.record(EventKind.LEG_ANSWERED, {"leg_id": leg_id})

    def leg_ended(self, leg_id: str, cause: int | None, cause_text: str | None) -> None:
        leg = self.legs.get(leg_id)
        if leg is None or leg.ended_at is not None:
            return
        leg.ended_at = self._clock.now()
        leg.cause = cause
        self.record(EventKind.LEG_ENDED, {"leg_id": leg_id, "cause": cause, "cause_text": cause_text})

    @property
    def live_legs(self) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.ended_at is None]

    def end(self, cause: int | None, cause_text: str | None, outcome: str) -> None:
        """Close the call (once): every leg still open is closed with the same cause."""
        if self.ended:
            return
        for leg in self.live_legs:
            self.leg_ended(leg.leg_id, cause, cause_text)
        self.ended = True
        self.record(EventKind.CALL_ENDED, {"cause": cause, "cause_text": cause_text, "outcome": outcome})
