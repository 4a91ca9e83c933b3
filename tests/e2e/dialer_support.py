"""The dialer's test bed: campaigns dialling the test PSTN (asterisk-conf/extensions.conf
``[ccapp-test-pstn]``, docs/testbed-pstn.md) with agents whose phones are SIPp UAS or Local channels,
leads imported from a CSV through the real import path, and a stand-in for the agents' hands: they
hang up after talking a while and disposition every call (`AgentHands`).

Test PSTN numbers: +1 555 01T RNNN — T who answers (0 person, 1 machine, 2 busy, 3 no answer,
4 congestion, 5 person who hangs up, 6 silent person, 7 chatty person, 8 unallocated, 9 short
machine), R seconds of ringing first, NNN free.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import shutil
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ccapp.acd.model import AgentState
from ccapp.app import Application
from ccapp.dialer.importer import import_file
from ccapp.storage import Database
from tests.e2e.acd_support import PSTN_DIAL, acd_config, db_rows, wait_for
from tests.support.testbed import REPO, ensure_dialplan, sandbox_root

PERSON, MACHINE, BUSY, NO_ANSWER, CONGESTION = "0", "1", "2", "3", "4"
#: AMD's known mistakes in the test PSTN: a silent person (MACHINE), a short machine greeting (HUMAN)
SILENT_PERSON, SHORT_MACHINE = "6", "9"
KIND_OF = {"0": "person", "1": "machine", "2": "busy", "3": "no_answer", "4": "congestion", "5": "person"}


def _area_codes() -> list[int]:
    import phonenumbers

    return [a for a in range(201, 990) if phonenumbers.is_valid_number(phonenumbers.parse(f"+1{a}5550100"))]


#: US area codes whose 555-01XX numbers libphonenumber calls valid: they tell leads apart
AREA_CODES = _area_codes()


def number(kind: str, index: int, ring_s: int = 1) -> str:
    """Test PSTN number ``index`` of ``kind`` (T) ringing ``ring_s`` s: +1 AAA 555 01TR, where the
    area code AAA and ring seconds R tell leads apart (index // len(AREA_CODES) adds to R)."""
    area = AREA_CODES[index % len(AREA_CODES)]
    ring = ring_s + index // len(AREA_CODES)
    assert ring <= 9, "too many numbers of one kind"
    return f"+1{area}55501{kind}{ring}"


def ensure_test_pstn() -> None:
    """The running test bed has the test PSTN's dialplan and sounds (a start copies both)."""
    ensure_dialplan("12015550101@ccapp-test-pstn", "_1NXX55501XX")
    sounds = sandbox_root() / "usr/share/asterisk/sounds/ccapp"
    sounds.mkdir(parents=True, exist_ok=True)
    for sound in (REPO / "asterisk-conf" / "sounds").iterdir():
        if not (sounds / sound.name).exists():
            shutil.copy(sound, sounds / sound.name)


def windows_open_now(now: datetime | None = None) -> dict[str, list[str]]:
    """Calling windows (every day) that are open now in UTC and closed now at UTC+12
    (``Etc/GMT-12``): a 4-hour window around the current UTC hour, clipped to the day."""
    now = now or datetime.now(UTC)
    start, end = max(0, now.hour - 1), min(24, now.hour + 3)
    return {"mon-sun": [f"{start:02d}:00-{end:02d}:00"]}


def dialer_config(
    tmp_path: Path,
    *,
    campaign: Mapping[str, Any],
    agents: Mapping[str, str],
    queue: Mapping[str, Any] | None = None,
    name: str = "ccapp.yaml",
) -> Path:
    """A config with queue ``outbound``, ``agents`` (id → endpoint) in it, and campaign ``c1``."""
    ensure_test_pstn()
    camp = {
        "queue": "outbound",
        "trunk": PSTN_DIAL,
        "caller_id": '"ccapp test" <+15550000000>',
        "ring_timeout_s": 8,
        "default_zone": "UTC",
        "calling_windows": windows_open_now(),
        **campaign,
    }
    return acd_config(
        tmp_path,
        queues={"outbound": {"ring_timeout_s": 5, "wrap_up_s": 1, **(queue or {})}},
        agents={aid: {"endpoint": ep, "queues": ["outbound"]} for aid, ep in agents.items()},
        trees={},
        extra={"campaigns": {"c1": camp}},
        name=name,
    )


def write_leads(path: Path, rows: Iterable[Mapping[str, str]]) -> Path:
    rows = list(rows)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


async def import_leads(app: Application, path: Path, campaign: str = "c1") -> Any:
    db = Database(app.settings.database.url)
    try:
        return await import_file(
            db,
            path,
            campaign=campaign,
            spec={"phone": "phone", "zone": "zone", "name": "name"},
            default_region="US",
            default_zone="UTC",
            now=lambda: datetime.now(UTC),
        )
    finally:
        await db.dispose()


async def campaign_finished(app: Application, campaign: str = "c1", timeout: float = 60) -> None:
    """Until the dialer has marked ``campaign`` finished (nothing new, scheduled or dialling left)."""

    async def finished() -> bool:
        return app.dialer is not None and app.dialer.runs[campaign].status == "finished"

    await wait_for(finished, timeout=timeout, what=f"campaign {campaign} finished")


async def attempts(app: Application) -> list[dict[str, Any]]:
    return await db_rows(app.settings.database.url, "SELECT * FROM dial_attempts ORDER BY started_at")


async def leads(app: Application) -> list[dict[str, Any]]:
    return await db_rows(app.settings.database.url, "SELECT * FROM leads ORDER BY line")


class AgentHands:
    """What the agents do with their hands during a test: hang up ``talk_s`` after a call connects
    (the agent's leg), and disposition each call during wrap-up as ``dispose(phone)`` says."""

    def __init__(self, app: Application, *, talk_s: float = 3.0, dispose: Any = None) -> None:
        self.app = app
        self.talk_s = talk_s
        self.dispose = dispose or (lambda phone: {"outcome": "sale", "right_party": True})
        self.connected: dict[str, float] = {}  # call id → monotonic connect time
        self.dispositioned: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def __enter__(self) -> AgentHands:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        dialer, acd = self.app.dialer, self.app.acd
        assert dialer is not None and acd is not None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.1)
            for call_id, attempt in list(dialer.by_call.items()):
                session = acd.sessions.get(call_id)
                talk = getattr(session, "talk", None)
                if talk is not None and call_id not in self.connected:
                    self.connected[call_id] = loop.time()
                if (
                    talk is not None
                    and loop.time() - self.connected[call_id] >= self.talk_s
                    and not talk.party.leg.ended
                ):
                    await talk.party.leg.hangup()
                if call_id in self.dispositioned or call_id not in self.connected or talk is not None:
                    continue
                agent = next(
                    (a for a in acd.desk.agents.values() if _work_of(acd, a.agent_id) == call_id), None
                )
                if agent is None or agent.state is not AgentState.WRAP_UP:
                    continue
                self.dispositioned.add(call_id)
                with contextlib.suppress(Exception):
                    await acd.disposition(agent.agent_id, call_id, **self.dispose(attempt.phone))


def _work_of(acd: Any, agent_id: str) -> str | None:
    work = acd.desk.work(agent_id)
    return work[0] if work else None


@contextlib.asynccontextmanager
async def sipp_phones(count: int) -> Any:
    """``count`` auto-answering SIPp agent phones (stock UAS, each on a port of its own); yields their
    endpoints (``PJSIP/agent-sipp-1/sip:agent@127.0.0.1:<port>``). Stopped (killed) at the end."""
    import subprocess

    from tests.support.testbed import free_udp_port, run_sipp

    ports = [free_udp_port() for _ in range(count)]
    tasks = [
        asyncio.create_task(run_sipp("uas", service="agent", local_port=port, calls=10000, timeout=900))
        for port in ports
    ]
    await asyncio.sleep(0.5)  # SIPp binds its port
    try:
        yield [f"PJSIP/agent-sipp-1/sip:agent@127.0.0.1:{port}" for port in ports]
    finally:
        for port in ports:
            subprocess.run(["pkill", "-f", f"sipp .*-p {port} "], check=False)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def pstn_recording(phone: str, attempt_id: str) -> Path:
    """What the test PSTN party of ``phone`` heard on attempt ``attempt_id`` (from its answer on)."""
    from tests.e2e.acd_support import SHARED_RECORDING_DIR

    return SHARED_RECORDING_DIR / "pstn" / f"{phone.lstrip('+')}-out-{attempt_id}.wav"
