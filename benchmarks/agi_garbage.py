"""FastAGI server under hostile connections: throughput, cost per connection, event-loop stalls.

    .venv/bin/python benchmarks/agi_garbage.py [--connections 1000] [--asterisk]

Runs ccapp's FastAgiServer on a free port (or on 4573 with --asterisk, which then places a real
call through the test-bed Asterisk after the flood) and opens connections of every hostile kind
from tests/integration/agi/garbage_peers.py while a LoopLagMonitor watches the loop.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccapp.calls.ports import DigitResult
from ccapp.looplag import LoopLagMonitor
from ccapp.telephony.agi import AgiSession, FastAgiServer
from tests.integration.agi.garbage_peers import KINDS, FloodReport, flood, flood_in_subprocess

FAST_KINDS = tuple(kind for kind in KINDS if kind != "silent")


async def noop(session: AgiSession) -> None:
    await session.answer()


async def real_call() -> tuple[DigitResult, float]:
    from ccapp.telephony.ami import AmiClient
    from tests.integration.agi.conftest import AgiBed, start_on_agi_port
    from tests.support import testbed

    async with AmiClient(testbed.AMI_HOST, testbed.AMI_PORT, testbed.AMI_USER, testbed.AMI_PASSWORD) as ami:
        bed = AgiBed(ami, header_timeout=0.5)
        await start_on_agi_port(bed.server)
        outcome: asyncio.Future[DigitResult] = asyncio.get_running_loop().create_future()

        async def ivr(session: AgiSession) -> None:
            await session.answer()
            outcome.set_result(await session.collect_digits(max_digits=8, first_timeout=8))
            await session.hangup()

        try:
            started = time.perf_counter()
            await bed.call(ivr)
            digits = await asyncio.wait_for(outcome, 30)
            return digits, time.perf_counter() - started
        finally:
            await bed.server.stop(grace=2)


async def run(connections: int, kinds: tuple[str, ...], separate: bool) -> None:
    header_timeout = 0.5
    server = FastAgiServer(
        {"ivr/first": noop}, "127.0.0.1", 0, header_timeout=header_timeout, max_connections=5000
    )
    await server.start()
    flooder = flood_in_subprocess if separate else flood
    try:
        async with LoopLagMonitor(interval=0.01) as monitor:
            report: FloodReport = await flooder(
                "127.0.0.1", server.port, connections, kinds=kinds, concurrency=250, wait_limit=5.5
            )
    finally:
        await server.stop()
    where = "peers in a child process" if separate else "peers in the same loop"
    mix = "mixed (1/6 silent, held 0.5 s)" if "silent" in kinds else "fast garbage (no silent peers)"
    lag = monitor.lag
    print(
        f"{mix:32} {where:25} {report.per_second:7,.0f} conn/s {report.ms_per_connection:6.3f} ms/conn"
        f"   loop stall max {lag.max * 1000:6.1f} ms mean {lag.mean * 1000:5.2f} ms"
    )
    if report.failures:
        print(f"  client-side failures: {dict(report.failures)}")
    turned_away = server.stats.garbage + server.stats.aborted + server.stats.header_timeouts
    assert turned_away == connections, server.stats


async def main(connections: int, with_asterisk: bool) -> None:
    print(f"{connections} hostile connections per run, at most 250 at a time\n")
    for separate in (True, False):
        for kinds in (FAST_KINDS, KINDS):
            await run(connections, kinds, separate)
    if with_asterisk:
        digits, seconds = await real_call()
        print(f"real call through Asterisk afterwards: {digits} in {seconds:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--asterisk", action="store_true", help="place a real call afterwards (port 4573)")
    args = parser.parse_args()
    asyncio.run(main(args.connections, args.asterisk))
