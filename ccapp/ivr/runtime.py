"""The IVR as a call handler: picks the tree named by the entry (``Stasis(ccapp,inbound,<tree>)``,
``agi://…/ivr/<tree>``) and walks it."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from ccapp.calls.call import Call
from ccapp.calls.model import Via
from ccapp.calls.ports import CallControl
from ccapp.calls.router import UnknownRoute
from ccapp.ivr.engine import IvrSession
from ccapp.ivr.first import FirstIvrSettings, run_first_ivr
from ccapp.ivr.ports import RecordingGate
from ccapp.ivr.registry import TreeRegistry
from ccapp.ivr.services import BusyQueueStub, DialplanQueueHandoff, IvrServices

log = logging.getLogger(__name__)

#: the built-in tree of the first milestone, used when no tree of that name is configured
BUILT_IN_FIRST = "first"


class IvrRuntime:
    def __init__(
        self,
        registry: TreeRegistry,
        services: IvrServices,
        first: FirstIvrSettings,
        recording_gate: Callable[[str, str], RecordingGate] | None = None,
    ) -> None:
        self.registry = registry
        self.services = services
        self.first = first
        #: builds the gate that pauses a call's recording (channel name, call id) during sensitive input
        self.recording_gate = recording_gate

    async def handle(self, call: Call, control: CallControl, params: tuple[str, ...]) -> str:
        name = params[0] if params and params[0] else BUILT_IN_FIRST
        tree = self.registry.get(name)
        if tree is None:
            if name == BUILT_IN_FIRST:
                return await run_first_ivr(call, control, self.first)
            raise UnknownRoute(
                f"no IVR tree named {name!r} (trees: {', '.join(self.registry.names) or 'none'})"
            )
        # the schedules in force when the call started stay with it, like its tree
        services = dataclasses.replace(self.services, schedules=self.registry.schedules)
        if call.via is Via.AGI and not isinstance(services.queue, BusyQueueStub):
            services.queue = DialplanQueueHandoff()
        if self.recording_gate is not None and call.legs:
            channel = next(iter(call.legs.values())).channel
            services.recording = self.recording_gate(channel, call.call_id)
        await control.answer()
        session = IvrSession(
            call=call,
            control=control,
            tree_name=name,
            tree=tree,
            services=services,
            caller_number=call.caller_number,
            caller_name=call.caller_name,
            called_number=call.called_number,
        )
        return await session.run()
