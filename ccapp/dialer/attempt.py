"""One dial attempt: its values, and how a network outcome or an agent's disposition becomes a result.

Pure: the runtime (`ccapp.dialer.service`) fills an `Attempt` as the call progresses and asks
`network_result` / `disposition_result` what the attempt's result is for the retry policy.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ccapp.dialer.retry import AttemptResult

#: Q.850 causes of a line that was never answered, by what they mean for a retry
_BUSY = frozenset({17})
_NO_ANSWER = frozenset({18, 19, 21, 31})  # no user responding, no answer, rejected, normal unspecified
_CONGESTION = frozenset({34, 38, 41, 42, 44, 47, 58})
_INVALID = frozenset({1, 3, 22, 28})  # unallocated, no route, number changed, invalid format

#: AMD verdicts ccapp acts on: anything but MACHINE is treated as a person
MACHINE = "MACHINE"


#: disposition outcomes that name a result by another word (the AMD report's "answering_machine")
_ALIASES = {"answering_machine": "machine", "dnc": "do_not_call"}


def new_attempt_id() -> str:
    return uuid.uuid4().hex[:20]


def network_result(cause: int | None) -> tuple[AttemptResult, str]:
    """The retry result and the `dial_attempts.result` of a line that was not answered."""
    if cause in _BUSY:
        return AttemptResult.BUSY, "busy"
    if cause in _NO_ANSWER or cause == 16:  # 16: ccapp gave up ringing (its own ring timeout)
        return AttemptResult.NO_ANSWER, "no_answer"
    if cause in _CONGESTION:
        return AttemptResult.CONGESTION, "congestion"
    if cause in _INVALID:
        return AttemptResult.INVALID_NUMBER, "failed"
    return AttemptResult.FAILED, "failed"


def disposition_result(outcome: str, right_party: bool | None, callback_at: datetime | None) -> AttemptResult:
    """What an agent's disposition of a connected call means for the lead.

    A callback time wins (the person asked to be called back); an outcome that names a result
    (``wrong_number``, ``do_not_call``, ``machine``…) is taken as it is; otherwise the right-party flag
    decides, and a disposition that says neither counts as the right party reached.
    """
    if callback_at is not None:
        return AttemptResult.CALLBACK_REQUESTED
    try:
        named = AttemptResult(_ALIASES.get(outcome, outcome))
    except ValueError:
        named = None
    if named is not None:
        return named  # a callback without a time: the policy's callback delay
    if right_party is False:
        return AttemptResult.WRONG_PARTY
    return AttemptResult.RIGHT_PARTY


@dataclass(eq=False)
class Attempt:
    """A lead's line from the dial to its result. Mutable: the runtime fills it in."""

    attempt_id: str
    campaign_id: str
    lead_id: str
    phone: str
    zone: str
    attempts_before: int
    dialled_mono: float
    started_at: datetime
    #: the agent held for this line (progressive and preview: from the dial; predictive: from the answer)
    agent_id: str | None = None
    #: the agent's phone leg, when it was rung before the verdict
    agent_leg: Any = None
    agent_answered: asyncio.Future[Any] | None = None
    agent_rung_mono: float = 0.0
    #: the line (`ccapp.dialer.ports.Line`) once originated
    line: Any = None
    answered_mono: float | None = None
    answered_at: datetime | None = None
    verdict: str | None = None
    call_id: str | None = None
    #: set when the AMD context hands the line back (`DialerService.outbound_route`)
    handed_back: asyncio.Event = field(default_factory=asyncio.Event)
    #: set when the attempt's outcome is known for the pacer (live / machine / not answered)
    resolved: bool = False
    connected: bool = False
    abandoned: bool = False
    preview: bool = False
    #: the lead's pending callback time when this attempt was dialled
    callback_at: datetime | None = None
    #: the agent's disposition: (outcome, right party, callback time); `disposed` is set when it came
    disposition: tuple[str, bool | None, datetime | None] | None = None
    disposed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def in_flight(self) -> bool:
        """Dialled, not yet answered nor failed: what the pacer counts as a line in flight."""
        return self.answered_mono is None and not self.resolved

    @property
    def waiting_for_agent(self) -> bool:
        """A live person waiting for an agent right now."""
        return (
            self.verdict is not None and self.verdict != MACHINE and not self.connected and not self.abandoned
        )
