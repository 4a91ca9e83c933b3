"""ARI event throughput and memory per concurrent call, on one core, without Asterisk.

    .venv/bin/python benchmarks/ari_events.py [--calls 2000] [--window 200] [--park 2000]

Wiring: the production composition root (`ccapp.app.Application` built from
asterisk-conf/testbed/ccapp.yaml) with its `AriApp`, `CallService`, router (first IVR) and
`SqlJournal` on a fresh SQLite file. Only the transport is replaced: the events socket by an
in-process "wire" and `AriClient._request` by a scripted Asterisk. Every event is a line of the
recorded transcript tests/fixtures/ari/events-local-dtmf-playback.jsonl with the channel and
playback ids rewritten per call, decoded with ``json.loads`` + `parse_event` and routed with
``AriApp.dispatch``, exactly as `AriEventStream` would. The scripted Asterisk reacts to REST calls
like the real one did in the recording: answer → ChannelStateChange; play → PlaybackStarted, then
(for the first prompt) the caller's DTMF 1 2 #, else PlaybackFinished; DELETE playback →
PlaybackFinished; hangup → HangupRequest, StasisEnd, Varset, ChannelDestroyed (both Local halves).

1. Throughput: ``--calls`` calls through the first IVR with at most ``--window`` in progress; time
   until every call ended and the journal flushed every event to SQLite (checked: one ``completed``
   record per call). Reports ARI events/s and calls/s.
2. Memory: ``--park`` calls answered and parked in a handler awaiting an `asyncio.Event` (each
   holds ActiveCall, Call, AriCallControl, its queue, its task); RSS delta / K, then, in a second
   round, tracemalloc delta / K.

The process is pinned to CPU 0 (the journal's fsync and aiosqlite threads share it).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import os
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccapp.app import Application
from ccapp.calls.call import Call
from ccapp.calls.ports import CallControl
from ccapp.config.loader import load_settings
from ccapp.storage.migrate import upgrade
from ccapp.telephony.ari import endpoints as ep
from ccapp.telephony.ari.client import AriClient
from ccapp.telephony.ari.events import parse_event

REPO = Path(__file__).resolve().parents[1]
TRANSCRIPT = REPO / "tests" / "fixtures" / "ari" / "events-local-dtmf-playback.jsonl"
CHAN_A, CHAN_B = "1795645907.144", "1795645907.145"
PLAYBACK = "95005a990e7b4ce3a44135acd4f4ecc2"


class Transcript:
    """The recorded lines, grouped by the moment of the call they belong to."""

    def __init__(self, path: Path) -> None:
        lines = path.read_text().splitlines()
        kinds = [json.loads(line)["type"] for line in lines]
        start = kinds.index("StasisStart")
        self.pre = lines[:start]  # Dial, ChannelDialplan, ChannelStateChange … of both halves
        stasis = json.loads(lines[start])
        stasis["channel"]["state"] = "Ring"  # like a SIP caller: ccapp answers it
        self.stasis = json.dumps(stasis, separators=(",", ":"))
        first_dtmf = kinds.index("ChannelDtmfReceived")
        self.after_stasis = lines[start + 1 : first_dtmf]
        self.dtmf = [ln for ln, k in zip(lines, kinds, strict=True) if k == "ChannelDtmfReceived"]
        self.up = next(
            ln for ln, k in zip(lines, kinds, strict=True) if k == "ChannelStateChange" and CHAN_A in ln
        )
        self.started = lines[kinds.index("PlaybackStarted")]
        self.finished = lines[kinds.index("PlaybackFinished")]
        self.between = lines[kinds.index("PlaybackStarted") + 1]  # a ChannelDialplan of the ;2 half
        self.playback = json.dumps(json.loads(self.started)["playback"])
        self.hangup = lines[kinds.index("ChannelHangupRequest") :]


class Wire:
    """What the events socket would deliver, in order."""

    def __init__(self) -> None:
        self.lines: collections.deque[str] = collections.deque()
        self.ready = asyncio.Event()

    def send(self, lines: Sequence[str], call: str, playback: str | None = None) -> None:
        for line in lines:
            line = line.replace(CHAN_A, f"{call}.1").replace(CHAN_B, f"{call}.2")
            if playback is not None:
                line = line.replace(PLAYBACK, playback)
            self.lines.append(line)
        self.ready.set()


class ScriptedAsterisk(AriClient):
    """`AriClient` whose transport is the recorded Asterisk (REST answers + the events they cause)."""

    def __init__(self, wire: Wire, transcript: Transcript) -> None:
        super().__init__("http://asterisk.invalid:8088", "u", "p", "ccapp")
        self._session = object()  # type: ignore[assignment]  # never used: _request is replaced
        self.wire = wire
        self.t = transcript
        self.prompted: set[str] = set()
        self.playing: dict[str, str] = {}  # playback id → call
        self.requests = 0

    async def _request(
        self,
        endpoint: ep.Endpoint,
        path: Mapping[str, str],
        query: Mapping[str, Any],
        body: Mapping[str, Any] | None,
    ) -> bytes:
        self.requests += 1
        t, wire = self.t, self.wire
        if endpoint is ep.CHANNEL_ANSWER:
            wire.send([t.up], path["channelId"][:-2])
        elif endpoint is ep.CHANNEL_PLAY:
            call, pid = path["channelId"][:-2], str(query["playbackId"])
            self.playing[pid] = call
            wire.send([t.started], call, pid)
            if call not in self.prompted:  # the caller types 1 2 # over the first prompt
                self.prompted.add(call)
                wire.send(t.dtmf, call)
            else:
                wire.send([t.between, t.finished], call, pid)
                del self.playing[pid]
            return t.playback.replace(PLAYBACK, pid).replace(CHAN_A, f"{call}.1").encode()
        elif endpoint is ep.PLAYBACK_STOP:
            pid = path["playbackId"]
            wire.send([t.finished], self.playing.pop(pid), pid)
        elif endpoint is ep.CHANNEL_HANGUP:
            call = path["channelId"][:-2]
            self.prompted.discard(call)
            wire.send(t.hangup, call)
        return b""


class Bench:
    def __init__(self, work: Path) -> None:
        self.url = f"sqlite+aiosqlite:///{work / 'ccapp.db'}"
        self.db_path = work / "ccapp.db"
        env = {"CCAPP_DATABASE__URL": self.url, "CCAPP_DATABASE__OUTBOX_DIR": str(work / "outbox")}
        settings = load_settings(REPO / "asterisk-conf" / "testbed" / "ccapp.yaml", env)
        self.app = Application(settings)
        self.wire = Wire()
        self.asterisk = ScriptedAsterisk(self.wire, Transcript(TRANSCRIPT))
        self.app.c.ari.client = self.asterisk  # AriApp makes every AriCallControl with this client
        self.events = 0
        self.started = 0
        self.parked = asyncio.Event()
        self.app.c.service._router.add("park", self._park)

    async def _park(self, call: Call, control: CallControl, params: tuple[str, ...]) -> str:
        await control.answer()
        await self.parked.wait()
        await control.hangup()
        return "completed"

    def place(self, args: Sequence[str]) -> None:
        self.started += 1
        call, t = f"bench-{self.started}", self.asterisk.t
        stasis = t.stasis.replace('["test"]', json.dumps(list(args), separators=(",", ":")))
        self.wire.send([*t.pre, stasis, *t.after_stasis], call)

    async def pump(self, *, total: int, window: int, args: Sequence[str], until_active: bool = False) -> None:
        """Deliver the wire to ``AriApp.dispatch``, keeping up to ``window`` calls in progress."""
        service, dispatch, lines = self.app.c.service, self.app.c.ari.dispatch, self.wire.lines
        target = self.started + total
        while True:
            while lines:
                await dispatch(parse_event(json.loads(lines.popleft())))
                self.events += 1
            in_progress = self.started - service.stats["ended"]
            while self.started < target and in_progress < window:
                self.place(args)
                in_progress += 1
            if lines:
                continue
            if self.started >= target and (
                (until_active and len(service.active) >= in_progress) or in_progress == 0
            ):
                return
            self.wire.ready.clear()
            await asyncio.sleep(0)  # let the call tasks run; they fill the wire
            if not lines:
                try:
                    async with asyncio.timeout(0.001):
                        await self.wire.ready.wait()
                except TimeoutError:
                    pass

    def completed(self) -> int:
        with sqlite3.connect(self.db_path) as db:
            return db.execute(
                "SELECT count(*) FROM calls WHERE outcome = 'completed' AND ended_at IS NOT NULL"
            ).fetchone()[0]


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def park_round(bench: Bench, k: int, *, traced: bool) -> float:
    """Bytes per parked call (RSS or tracemalloc), then release them."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0] if traced else rss_bytes()
    bench.parked.clear()
    await bench.pump(total=k, window=k, args=["park"], until_active=True)
    await bench.app.c.journal.flush()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0] if traced else rss_bytes()
    active = len(bench.app.c.service.active)
    bench.parked.set()
    await bench.pump(total=0, window=k, args=["park"])
    await bench.app.c.journal.flush()
    return (after - before) / active


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="ccapp-ari-bench-") as tmp:
        bench = Bench(Path(tmp))
        await upgrade(bench.url)
        journal = bench.app.c.journal
        await journal.start()
        try:
            # warm-up: imports, SQL statement caches, the first outbox segment
            await bench.pump(total=50, window=50, args=["inbound", "first"])
            await journal.flush()
            events0, requests0 = bench.events, bench.asterisk.requests
            t0 = time.perf_counter()
            cpu0 = time.process_time()
            await bench.pump(total=args.calls, window=args.window, args=["inbound", "first"])
            dispatched = time.perf_counter() - t0
            await journal.flush()
            elapsed = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            events = bench.events - events0
            done = bench.completed() - 50
            print(
                "throughput (AriApp.dispatch + CallService + first IVR + AriCallControl over a scripted "
                "Asterisk + SqlJournal → SQLite, 1 core):"
            )
            print(
                f"  {args.calls} calls, ≤{args.window} in progress: {events} ARI events, "
                f"{bench.asterisk.requests - requests0} REST requests, {elapsed:.2f} s "
                f"({dispatched:.2f} s until the last call ended, then the journal flush), CPU {cpu:.2f} s"
            )
            print(
                f"  {events / elapsed:,.0f} ARI events/s, {args.calls / elapsed:,.0f} calls/s "
                f"({events / args.calls:.0f} events per call); SQLite holds {done}/{args.calls} completed "
                f"calls; journal {journal.stats}"
            )
            if done != args.calls:
                print("  MISMATCH: not every call has a completed record", file=sys.stderr)
            if args.park:
                rss = await park_round(bench, args.park, traced=False)
                tracemalloc.start()
                traced = await park_round(bench, args.park, traced=True)
                tracemalloc.stop()
                print(f"memory per concurrent call ({args.park} calls parked in a handler on an Event):")
                print(
                    f"  RSS delta / K: {rss / 1024:.1f} KiB;  tracemalloc delta / K: {traced / 1024:.1f} KiB"
                )
        finally:
            await journal.stop()
            await bench.app.c.db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--window", type=int, default=200, help="calls in progress at once")
    parser.add_argument("--park", type=int, default=2000, help="concurrent parked calls (0: skip)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
