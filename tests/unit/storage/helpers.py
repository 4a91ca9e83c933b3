"""Shared helpers for the storage tests (unit on SQLite, integration on PostgreSQL)."""

from __future__ import annotations

from ccapp.calls.call import Call
from ccapp.calls.model import Direction, EventKind, Leg, Via
from ccapp.calls.ports import CallJournal
from ccapp.clock import FakeClock

#: Events `run_call` journals for one call.
EVENTS_PER_CALL = 12


def run_call(journal: CallJournal, clock: FakeClock, call_id: str, *, caller: str = "+15550100") -> Call:
    """Journal a whole answered inbound call: IVR, two digit entries, an agent leg, both hang up."""
    call = Call(
        journal=journal,
        clock=clock,
        direction=Direction.INBOUND,
        via=Via.ARI,
        entry="inbound/first",
        call_id=call_id,
    )
    call.start(
        Leg(f"{call_id}-a", f"PJSIP/sipp-{call_id}", caller_number=caller),
        caller_name="Alice",
        called_number="100",
    )
    clock.advance(0.5)
    call.leg_answered(f"{call_id}-a")
    call.record(EventKind.IVR_NODE, {"tree": "first", "node": "welcome"})
    call.record(EventKind.PROMPT, {"prompts": ["hello-world"]})
    clock.advance(2)
    call.record(EventKind.DIGITS, {"digits": "12", "terminator": "#", "timed_out": False})
    call.record(EventKind.DIGITS, {"digits": "****", "terminator": None, "timed_out": True})
    call.add_leg(Leg(f"{call_id}-b", f"PJSIP/agent-{call_id}", role="agent", endpoint="PJSIP/agent1"))
    clock.advance(3)
    call.leg_answered(f"{call_id}-b")
    clock.advance(30)
    call.end(16, None, "answered")
    return call
