"""End to end: campaigns dial the test PSTN through the real Asterisk; people reach agents, machines
get the campaign's treatment, failures are recorded with their causes, leads are rescheduled."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.e2e.acd_support import SUPERVISOR_TOKEN, agent_phone, agent_token, api, login, wait_for
from tests.e2e.conftest import StartCcapp
from tests.e2e.dialer_support import (
    BUSY,
    CONGESTION,
    MACHINE,
    NO_ANSWER,
    PERSON,
    SHORT_MACHINE,
    SILENT_PERSON,
    AgentHands,
    attempts,
    campaign_finished,
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

        await campaign_finished(app, timeout=90)
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

    await campaign_finished(app, timeout=40)
    [row] = await attempts(app)
    assert row["abandoned"] and row["result"] == "human" and row["agent_id"] is None
    heard = pstn_recording(phone, row["attempt_id"])
    await wait_for(_exists(heard), timeout=10, what=f"{heard}")
    onset = onset_s(heard, after_s=0.0)
    assert onset is not None and onset <= 2.0, onset
    print(f"\nabandon message heard {onset:.2f} s after the answer")
    # the agent who did not answer in time is not ready ("missed"), not left reserved
    assert app.acd is not None and app.acd.desk.get("A1").state.value == "not_ready"
    [lead] = await leads(app)
    assert (lead["status"], lead["last_result"]) == ("exhausted", "abandoned")


def _exists(path: Path) -> Any:
    async def check() -> bool:
        return path.exists() and path.stat().st_size > 1000

    return check


async def test_pausing_a_campaign_stops_new_dials_at_once_and_starting_it_resumes(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    config = dialer_config(
        tmp_path,
        campaign={"mode": "progressive", "max_attempts": 1, "ring_timeout_s": 4},
        agents={f"A{i}": agent_phone("answer", i) for i in (1, 2, 3)},
    )
    app = await start_ccapp(sqlite_url, config=config)
    rows = [{"phone": number(NO_ANSWER, i), "zone": "UTC", "name": f"n{i}"} for i in range(20)]
    assert (await import_leads(app, write_leads(tmp_path / "l.csv", rows))).imported == 20
    for agent_id in ("A1", "A2", "A3"):
        await login(app, agent_id)
    status, _ = await api(app, "POST", "/api/v1/campaigns/c1/start", token=SUPERVISOR_TOKEN)
    assert status == 200

    async def dialled(n: int) -> Any:
        async def check() -> bool:
            return len(await attempts(app)) >= n

        return check

    await wait_for(await dialled(3), timeout=20, what="three lines")
    status, body = await api(app, "POST", "/api/v1/campaigns/c1/pause", token=SUPERVISOR_TOKEN)
    paused_at = datetime.now(UTC)
    assert (status, body["status"]) == (200, "paused")
    await asyncio.sleep(7)  # the three lines ring out (4 s); a running campaign would dial three more
    before = await attempts(app)
    assert before and all(a["started_at"] <= paused_at for a in before)
    assert all(a["ended_at"] is not None for a in before)  # lines in flight were left to finish
    status, body = await api(app, "GET", "/api/v1/campaigns/c1", token=SUPERVISOR_TOKEN)
    assert [e["action"] for e in body["events"]][-2:] == ["start", "pause"]
    status, _ = await api(app, "POST", "/api/v1/campaigns/c1/start", token=SUPERVISOR_TOKEN)
    await wait_for(await dialled(len(before) + 1), timeout=10, what="dialling again")


async def test_preview_shows_the_lead_to_the_agent_and_dials_only_on_accept(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    config = dialer_config(
        tmp_path, campaign={"mode": "preview", "max_attempts": 1}, agents={"A1": agent_phone("answer")}
    )
    app = await start_ccapp(sqlite_url, config=config)
    rows = [{"phone": number(PERSON, i), "zone": "UTC", "name": f"Ms {i}"} for i in (11, 12)]
    assert (await import_leads(app, write_leads(tmp_path / "l.csv", rows))).imported == 2
    await login(app, "A1")
    token = agent_token("A1")
    status, _ = await api(app, "POST", "/api/v1/campaigns/c1/start", token=SUPERVISOR_TOKEN)
    assert status == 200

    async def offer() -> Any:
        status, body = await api(app, "GET", "/api/v1/agents/A1/preview", token=token)
        return body["preview"] if status == 200 else None

    first = await wait_for(offer, timeout=10, what="a lead offered")
    assert first["phone"] == rows[0]["phone"] and first["name"] == "Ms 11"
    await asyncio.sleep(2)
    assert await attempts(app) == []  # nothing is dialled while the agent reads
    with AgentHands(app, talk_s=2):
        status, _ = await api(app, "POST", "/api/v1/agents/A1/preview/accept", token=token)
        assert status == 200

        async def connected() -> Any:
            rows_ = [a for a in await attempts(app) if a["connected_at"] is not None]
            return rows_[0] if rows_ else None

        call = await wait_for(connected, timeout=20, what="the lead connected to the agent")
        assert call["agent_id"] == "A1" and call["amd"] is None and call["result"] == "human"
        second = await wait_for(offer, timeout=30, what="the next lead offered")
    assert second["phone"] == rows[1]["phone"]
    status, _ = await api(app, "POST", "/api/v1/agents/A1/preview/skip", token=token)
    assert status == 204
    lead_rows = {r["phone"]: r for r in await leads(app)}
    skipped = lead_rows[rows[1]["phone"]]
    assert (skipped["status"], skipped["last_result"], skipped["attempts"]) == ("scheduled", "skipped", 0)
    assert lead_rows[rows[0]["phone"]]["status"] == "done"
    assert len(await attempts(app)) == 1


async def test_amd_verdicts_are_compared_with_the_agents_dispositions_in_the_amd_report(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    # every MACHINE verdict is audited (sent to an agent), so both error rates are measured; the test
    # PSTN's silent people (6) fool AMD into MACHINE, its short machines (9) into HUMAN
    config = dialer_config(
        tmp_path,
        campaign={"mode": "progressive", "max_attempts": 1, "amd_audit_fraction": 1.0},
        agents={f"A{i}": agent_phone("answer", i) for i in (1, 2, 3)},
    )
    app = await start_ccapp(sqlite_url, config=config)
    kinds = {PERSON: 4, MACHINE: 3, SILENT_PERSON: 3, SHORT_MACHINE: 3}
    rows = [{"phone": number(k, i), "zone": "UTC", "name": k} for k, n in kinds.items() for i in range(n)]
    assert (await import_leads(app, write_leads(tmp_path / "l.csv", rows))).imported == 13
    for agent_id in ("A1", "A2", "A3"):
        await login(app, agent_id)

    def dispose(phone: str) -> dict[str, Any]:
        if phone[-2] in (MACHINE, SHORT_MACHINE):
            return {"outcome": "answering_machine", "right_party": False}
        return {"outcome": "sale", "right_party": True}

    with AgentHands(app, talk_s=1.5, dispose=dispose):
        await app.dialer.command("c1", "start", actor="test")  # type: ignore[union-attr]

        await campaign_finished(app, timeout=120)
    verdicts = {a["phone"][-2]: a["amd"] for a in await attempts(app)}
    assert verdicts == {PERSON: "HUMAN", MACHINE: "MACHINE", SILENT_PERSON: "MACHINE", SHORT_MACHINE: "HUMAN"}
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "ccapp"),
            "campaign",
            "amd-report",
            "--db",
            sqlite_url,
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    [c1] = [row for row in json.loads(out)["campaigns"] if row["campaign"] == "c1"]
    assert (c1["machine_checked"], c1["false_machine"]) == (6, 3)  # the silent people
    assert (c1["human_checked"], c1["false_human"]) == (7, 3)  # the short machines
    assert c1["false_machine_rate"] == 0.5 and abs(c1["false_human_rate"] - 3 / 7) < 1e-9
