"""End to end: campaigns dial the test PSTN through the real Asterisk; people reach agents, machines
get the campaign's treatment, failures are recorded with their causes, leads are rescheduled."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.e2e.acd_support import agent_phone, login, wait_for
from tests.e2e.conftest import StartCcapp
from tests.e2e.dialer_support import (
    BUSY,
    CONGESTION,
    MACHINE,
    NO_ANSWER,
    PERSON,
    AgentHands,
    attempts,
    dialer_config,
    import_leads,
    leads,
    number,
    pstn_recording,
    write_leads,
)
from tests.support.wav_onset import onset_s


async def test_a_progressive_campaign_bridges_people_and_records_every_other_outcome(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    config = dialer_config(
        tmp_path,
        campaign={"mode": "progressive", "max_attempts": 1},
        agents={"A1": agent_phone("answer"), "A2": agent_phone("answer", 2)},
    )
    app = await start_ccapp(sqlite_url, config=config)
    assert app.dialer is not None
    kinds = [PERSON, PERSON, MACHINE, BUSY, NO_ANSWER, CONGESTION]
    csv_path = write_leads(
        tmp_path / "leads.csv",
        [{"phone": number(k, i), "zone": "UTC", "name": f"lead {i}"} for i, k in enumerate(kinds)],
    )
    report = await import_leads(app, csv_path)
    assert report.imported == len(kinds)
    await login(app, "A1")
    await login(app, "A2")
    with AgentHands(app, talk_s=2):
        await app.dialer.command("c1", "start", actor="test")

        async def finished() -> bool:
            return app.dialer is not None and app.dialer.runs["c1"].status == "finished"

        await wait_for(finished, timeout=90, what="campaign finished")
    rows = {r["phone"]: r for r in await attempts(app)}
    assert len(rows) == len(kinds)
    by_kind = {k: rows[number(k, i)] for i, k in enumerate(kinds)}
    person = by_kind[PERSON]
    assert person["result"] == "human" and person["agent_id"] in ("A1", "A2")
    assert person["connected_at"] is not None and not person["abandoned"]
    assert by_kind[MACHINE]["result"] == "machine"
    assert by_kind[BUSY]["result"] == "busy" and by_kind[BUSY]["hangup_cause"] == 17
    assert by_kind[NO_ANSWER]["result"] == "no_answer"
    assert by_kind[CONGESTION]["result"] == "congestion" and by_kind[CONGESTION]["hangup_cause"] == 34
    statuses = {r["phone"]: r["status"] for r in await leads(app)}
    assert set(statuses.values()) <= {"done", "exhausted"}
    await asyncio.sleep(0)


async def test_a_person_no_agent_can_take_hears_the_abandon_message_within_two_seconds(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    # the agent held for the line never picks up: at 2 s after the answer the message must be playing
    config = dialer_config(
        tmp_path,
        campaign={"mode": "progressive", "max_attempts": 1},
        agents={"A1": agent_phone("noanswer")},
    )
    app = await start_ccapp(sqlite_url, config=config)
    assert app.dialer is not None
    phone = number(PERSON, 7)
    report = await import_leads(
        app, write_leads(tmp_path / "l.csv", [{"phone": phone, "zone": "UTC", "name": "x"}])
    )
    assert report.imported == 1
    await login(app, "A1")
    await app.dialer.command("c1", "start", actor="test")

    async def finished() -> bool:
        return app.dialer is not None and app.dialer.runs["c1"].status == "finished"

    await wait_for(finished, timeout=40, what="campaign finished")
    [row] = await attempts(app)
    assert row["abandoned"] and row["result"] == "human" and row["agent_id"] is None
    heard = pstn_recording(phone, row["attempt_id"])
    await wait_for(_exists(heard), timeout=10, what=f"{heard}")
    onset = onset_s(heard, after_s=0.0)
    assert onset is not None and onset <= 2.0, onset
    # the agent who did not answer in time is not ready ("missed"), not left reserved
    assert app.acd is not None and app.acd.desk.get("A1").state.value == "not_ready"
    [lead] = await leads(app)
    assert (lead["status"], lead["last_result"]) == ("exhausted", "abandoned")


def _exists(path: Path) -> Any:
    async def check() -> bool:
        return path.exists() and path.stat().st_size > 1000

    return check
