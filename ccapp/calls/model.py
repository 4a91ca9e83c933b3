"""A caller's journey (`Call`), its channels (`Leg`) and the journal events that record both.

The journal is the source of truth: storage projects `calls`/`legs` rows from the events, so a
replayed event changes nothing (events are keyed by call id + sequence number).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class Via(StrEnum):
    """Which adapter carries the call."""

    ARI = "ari"
    AGI = "agi"


class EventKind(StrEnum):
    """Journal event kinds. The data each carries is documented per member."""

    CALL_STARTED = "call.started"  # direction, via, entry, caller_number, caller_name, called_number
    LEG_ADDED = "leg.added"  # leg_id, channel, role, endpoint, caller_number
    LEG_ANSWERED = "leg.answered"  # leg_id
    LEG_ENDED = "leg.ended"  # leg_id, cause, cause_text
    PROMPT = "prompt"  # prompts (sound names)
    DIGITS = "digits"  # digits (masked when sensitive), terminator, timed_out
    IVR_NODE = "ivr.node"  # tree, version, node, type: a node was entered
    IVR_INPUT = "ivr.input"  # tree, node, mode (dtmf|speech), input (masked when sensitive), confidence
    IVR_TIMEOUT = "ivr.timeout"  # tree, node, attempt: no input before the timeout
    IVR_NO_MATCH = "ivr.no_match"  # tree, node, attempt, mode, input (masked when sensitive)
    # tree, node, outcome (hangup|queue|transfer|voicemail|max_tries|caller_hangup|error), target
    IVR_EXIT = "ivr.exit"
    VARIABLE = "variable"  # name, value (masked when sensitive): a call variable was set
    RECORDING_PAUSED = "recording.paused"  # reason, recording_id (when ccapp records the call)
    RECORDING_RESUMED = "recording.resumed"  # reason, recording_id
    # --- ACD (the call's own stream). ``entry`` numbers the call's queue entries 1, 2, … so a call
    # that overflows or is transferred to another queue has one queue_calls row per entry.
    QUEUE_ENTERED = "queue.entered"  # queue, entry, priority, skills, position, expected_wait_s
    QUEUE_ANNOUNCED = "queue.announced"  # queue, entry, position, expected_wait_s
    # queue, entry, reason, wait_s, target. reason: answered | abandoned | overflow | callback |
    # transferred | error | shutdown | lost. ``target``: where it went (overflow queue, voicemail…)
    QUEUE_LEFT = "queue.left"
    AGENT_OFFERED = "agent.offered"  # queue, entry, agent_id, leg_id, endpoint: the agent's phone rings
    AGENT_NO_ANSWER = "agent.no_answer"  # queue, entry, agent_id, leg_id, ring_s, cause
    AGENT_RELEASED = "agent.released"  # queue, entry, agent_id, leg_id, reason (other_answered | caller_gone)
    AGENT_CONNECTED = "agent.connected"  # queue, entry, agent_id, leg_id, wait_s, ring_s, bridge_id
    AGENT_DISCONNECTED = "agent.disconnected"  # queue, entry, agent_id, leg_id, talk_s, hold_s, by
    # queue, entry, agent_id, wrap_s: the agent's wrap-up after this entry ended (AHT's third part)
    AGENT_WRAPPED = "agent.wrapped"
    CALLBACK_REQUESTED = "callback.requested"  # queue, entry, number
    CALLBACK_DIALLED = "callback.dialled"  # queue, entry, agent_id, number, leg_id, answered, cause
    # kind (blind | attended), by_agent, target_type (queue | agent | number), target, topic,
    # expected (the escalation rule's target for the topic or IVR choice, or None), correct (the transfer
    # follows the rule, judged by the ACD; None without a rule), outcome (completed | cancelled | failed)
    TRANSFER = "transfer"
    RECORDING_STARTED = "recording.started"  # recording_id, name, queue, agent_id, policy
    RECORDING_STOPPED = (
        "recording.stopped"  # recording_id, duration_s, paused_s, paused_spans [[from_s, to_s]…]
    )
    RECORDING_STORED = "recording.stored"  # recording_id, path, size_bytes: the file is in ccapp's store
    DISPOSITION = "disposition"  # agent_id, outcome, resolved, topic, notes, right_party
    SUPERVISOR = "supervisor"  # mode (listen | whisper | barge), supervisor, agent_id, leg_id
    # --- agent streams: call_id "agent:<agent_id>:<session>", one per agent per process run
    AGENT_STATE = "agent.state"  # agent_id, from, to, reason, call_id, queue
    CONTINUED = "continued"  # context, extension, priority, reason
    ERROR = "error"  # where, error (type and message; never caller data)
    CALL_ENDED = "call.ended"  # cause, cause_text, outcome


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One timestamped fact about a call. ``seq`` is 1, 2, 3… within the call."""

    call_id: str
    seq: int
    at: datetime
    kind: EventKind
    data: Mapping[str, Any] = field(default_factory=dict)


def new_call_id() -> str:
    """Stable, sortable-enough, unique call id."""
    return uuid.uuid4().hex


@dataclass(slots=True)
class Leg:
    """One channel taking part in a call."""

    leg_id: str
    channel: str
    role: str = "caller"
    endpoint: str | None = None
    caller_number: str | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    cause: int | None = None


# Q.850 causes ccapp names in records; the rest are stored as numbers with Asterisk's text.
Q850 = {
    0: "Unknown",
    1: "Unallocated number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "No answer",
    21: "Call rejected",
    27: "Destination out of order",
    34: "No circuit available",
    38: "Network out of order",
    41: "Temporary failure",
    127: "Interworking",
}


#: journal streams that are not calls: agent state changes go to "agent:<agent_id>:<session>"
AGENT_STREAM_PREFIX = "agent:"


def agent_stream_id(agent_id: str, session: str) -> str:
    """The journal stream of ``agent_id``'s state changes in one process run (``session``)."""
    return f"{AGENT_STREAM_PREFIX}{agent_id}:{session}"


def is_agent_stream(stream_id: str) -> bool:
    return stream_id.startswith(AGENT_STREAM_PREFIX)
