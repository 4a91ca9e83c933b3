"""1,000 hostile connections must not stall the event loop nor break the next real call."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest

from ccapp.calls.ports import DigitResult
from ccapp.looplag import LoopLagMonitor
from ccapp.telephony.agi import AgiSession
from ccapp.telephony.ami import AmiClient
from tests.integration.agi.conftest import AgiBed, start_on_agi_port
from tests.integration.agi.garbage_peers import KINDS, flood_in_subprocess

pytestmark = pytest.mark.asterisk

HEADER_TIMEOUT = 0.5
MAX_STALL = 0.100


async def test_a_thousand_garbage_connections_then_a_real_call(ami: AmiClient) -> None:
    bed = AgiBed(ami, header_timeout=HEADER_TIMEOUT, max_header_bytes=16 * 1024, max_connections=2000)
    await start_on_agi_port(bed.server)
    # Measure the server's loop, not the collector walking what hundreds of earlier tests in this
    # process left on the heap (a full collection of that heap alone took >100 ms in the suite).
    gc.collect()
    gc.freeze()
    pauses: list[float] = []
    started: list[float] = []

    def gc_timer(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            pauses.append(time.perf_counter() - started.pop())

    gc.callbacks.append(gc_timer)
    try:
        async with LoopLagMonitor(interval=0.01) as monitor:
            # the peers run in a child process: the loop measured carries the server's work only
            report = await flood_in_subprocess(
                "127.0.0.1", 4573, 1000, concurrency=250, wait_limit=HEADER_TIMEOUT + 5
            )
            outcome: asyncio.Future[DigitResult] = asyncio.get_running_loop().create_future()

            async def ivr(session: AgiSession) -> None:
                await session.answer()
                outcome.set_result(await session.collect_digits(max_digits=8, first_timeout=8))
                await session.hangup()

            await bed.call(ivr, far_end="D12#")
            digits = await asyncio.wait_for(outcome, 30)
    finally:
        gc.callbacks.remove(gc_timer)
        gc.unfreeze()
        await bed.server.stop(grace=2)
    stats = bed.server.stats
    assert not report.failures, report.failures
    assert report.kinds == dict.fromkeys(KINDS, 1000 // len(KINDS)) | {
        kind: 1000 // len(KINDS) + 1 for kind in KINDS[: 1000 % len(KINDS)]
    }
    assert digits == DigitResult("12", terminator="#")
    # everything but the real call was turned away, each under the right counter
    assert stats.garbage + stats.aborted + stats.header_timeouts == 1000
    assert stats.header_timeouts == report.kinds["silent"]
    assert stats.served == 1
    assert stats.errors == stats.rejected == stats.unknown_route == 0
    assert monitor.lag.max < MAX_STALL, (
        f"event loop stalled {monitor.lag.max * 1000:.1f} ms "
        f"(longest GC pause {max(pauses, default=0) * 1000:.1f} ms)"
    )
