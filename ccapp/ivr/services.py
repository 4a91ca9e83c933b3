"""What an IVR session needs besides its call and tree (`IvrServices`), and the stand-ins used until
ACD and ccapp's own call recording exist."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ccapp.clock import Clock
from ccapp.ivr.ports import HttpFetcher, PromptStore, QueueTarget, Recognizer, RecordingGate
from ccapp.ivr.schedule import Schedule


@dataclass(frozen=True, slots=True)
class TransferSettings:
    """How ``transfer`` nodes leave ccapp: the dialplan context that dials, and how a number becomes a
    dial string (``None``: transfers to numbers are not configured)."""

    context: str = "ccapp-transfer"
    number_dial: str | None = None


class BusyQueueStub:
    """Stand-in ACD until queues exist: plays "all of our representatives are currently busy" and
    gives the call back. Its outcome is journaled as ``queue_stub_busy``, so no report mistakes it for
    a real queue."""

    def __init__(self, prompts: Sequence[str] = ("queue-periodic-announce",)) -> None:
        self.prompts = list(prompts)

    async def enter(
        self, control: Any, *, queue: str, priority: int, variables: Mapping[str, str], call: Any
    ) -> str:
        await control.play(self.prompts)
        return "queue_stub_busy"


#: the queue outcome of a FastAGI call handed to the dialplan for its queue: the tree ends there
QUEUE_VIA_DIALPLAN = "queue_via_dialplan"


class DialplanQueueHandoff:
    """The queue target of FastAGI calls: the ACD needs ARI (bridges, music, snoop), so the call's
    queue is set on the channel and the tree ends; the dialplan continues into
    ``Stasis(ccapp,queue,${CCAPP_QUEUE},${CCAPP_QUEUE_PRIORITY},${CCAPP_CALL_ID})``."""

    async def enter(
        self, control: Any, *, queue: str, priority: int, variables: Mapping[str, str], call: Any
    ) -> str:
        await control.set_variable("CCAPP_QUEUE", queue)
        await control.set_variable("CCAPP_QUEUE_PRIORITY", str(priority))
        await control.set_variable("CCAPP_CALL_ID", str(getattr(call, "call_id", "")))
        return QUEUE_VIA_DIALPLAN


class NoRecording:
    """No call recording to pause (recording policy lands with ACD)."""

    async def pause(self, reason: str) -> None:
        return None

    async def resume(self, reason: str) -> None:
        return None


@dataclass(slots=True)
class IvrServices:
    """What a session needs besides the call and the tree."""

    clock: Clock
    fetcher: HttpFetcher
    prompts: PromptStore | None = None
    recognizer: Recognizer | None = None
    queue: QueueTarget = field(default_factory=BusyQueueStub)
    recording: RecordingGate = field(default_factory=NoRecording)
    transfer: TransferSettings = field(default_factory=TransferSettings)
    schedules: Mapping[str, Schedule] = field(default_factory=dict)
