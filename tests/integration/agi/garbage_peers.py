"""Peers that are not Asterisk, for the FastAGI robustness test and benchmarks/agi_garbage.py.

Each kind is what a server on a reachable port meets in real life: TCP health checks, port scans
that close at once, clients that die mid-header, HTTP and TLS probes, random bytes, connections
that never speak, and a line that never ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HALF_HEADER = b"agi_network: yes\nagi_network_script: ivr/first\nagi_request: agi://127.0.0.1:4573/ivr"
REPO = Path(__file__).resolve().parents[3]
KINDS = ("connect_close", "half_header", "random_bytes", "http_probe", "silent", "endless_line")


@dataclass
class FloodReport:
    connections: int
    seconds: float
    kinds: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def per_second(self) -> float:
        return self.connections / self.seconds if self.seconds else 0.0

    @property
    def ms_per_connection(self) -> float:
        return 1000 * self.seconds / self.connections if self.connections else 0.0


async def _until_closed(reader: asyncio.StreamReader, limit: float) -> None:
    with contextlib.suppress(ConnectionError):
        async with asyncio.timeout(limit):
            while await reader.read(65536):
                pass


async def peer(kind: str, host: str, port: int, *, wait_limit: float) -> None:
    """One non-AGI connection of ``kind``; returns once it is over (closed by either side)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        if kind == "connect_close":
            return
        if kind == "half_header":
            writer.write(HALF_HEADER)
            await writer.drain()
            return
        if kind == "random_bytes":
            writer.write(b"\x00" + os.urandom(511))  # never starts with "agi_"
        elif kind == "http_probe":
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: ccapp\r\n\r\n")
        elif kind == "endless_line":
            writer.write(b"agi_network_script: ")
            with contextlib.suppress(ConnectionError):
                for _ in range(64):  # up to 1 MiB, until the server hangs up
                    writer.write(b"x" * 16384)
                    await writer.drain()
        await _until_closed(reader, wait_limit)  # "silent" just waits to be dropped
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def flood(
    host: str,
    port: int,
    total: int,
    *,
    kinds: tuple[str, ...] = KINDS,
    concurrency: int = 200,
    wait_limit: float = 10.0,
) -> FloodReport:
    """Open ``total`` connections, kinds in turn, at most ``concurrency`` at a time."""
    gate = asyncio.Semaphore(concurrency)
    report = FloodReport(connections=total, seconds=0.0)

    async def one(index: int) -> None:
        kind = kinds[index % len(kinds)]
        async with gate:
            try:
                await peer(kind, host, port, wait_limit=wait_limit)
            except (OSError, TimeoutError) as exc:
                report.failures[f"{kind}: {type(exc).__name__}"] += 1
            report.kinds[kind] += 1

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for index in range(total):
            group.create_task(one(index))
    report.seconds = time.perf_counter() - started
    return report


async def flood_in_subprocess(
    host: str,
    port: int,
    total: int,
    *,
    kinds: tuple[str, ...] = KINDS,
    concurrency: int = 200,
    wait_limit: float = 10.0,
) -> FloodReport:
    """`flood` from a child process, so the loop under test carries only the server's work."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.agi.garbage_peers",
        host,
        str(port),
        str(total),
        ",".join(kinds),
        str(concurrency),
        str(wait_limit),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"garbage peers failed: {err.decode()[-2000:]}")
    data = json.loads(out)
    return FloodReport(
        data["connections"], data["seconds"], Counter(data["kinds"]), Counter(data["failures"])
    )


def _main(argv: list[str]) -> None:
    host, port, total, kinds, concurrency, wait_limit = argv
    report = asyncio.run(
        flood(
            host,
            int(port),
            int(total),
            kinds=tuple(kinds.split(",")),
            concurrency=int(concurrency),
            wait_limit=float(wait_limit),
        )
    )
    fields = {"connections": report.connections, "seconds": report.seconds}
    print(json.dumps(fields | {"kinds": dict(report.kinds), "failures": dict(report.failures)}))


if __name__ == "__main__":
    _main(sys.argv[1:])
