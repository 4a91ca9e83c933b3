"""End to end: a predictive campaign of 200+ leads on the real Asterisk, SIPp agent phones, the test
PSTN (people, machines, busy, no answer, congestion), do-not-call lists changed before and during the
run, leads outside their calling window, retries and callbacks — and then every dial attempt checked
against the do-not-call entries and windows in force when it was dialled."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ccapp.dialer.windows import CallingWindows
from tests.e2e.acd_support import SUPERVISOR_TOKEN, api, db_rows, login, timed_events, wait_for
from tests.e2e.conftest import StartCcapp
from tests.e2e.dialer_support import (
    AREA_CODES,
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
    sipp_phones,
    windows_open_now,
)
from tests.support.wav_onset import onset_s

HANGS_UP = "5"
CLOSED_ZONE = "Etc/GMT-12"  # UTC+12: outside the window that is open now in UTC
RETRY_S = {"busy": 5, "no_answer": 5, "congestion": 5, "machine": 15, "abandoned": 10, "failed": 5}
MIX = {PERSON: 84, MACHINE: 40, BUSY: 30, NO_ANSWER: 26, CONGESTION: 10, HANGS_UP: 10}


def _dispose(phone: str) -> dict[str, Any]:
    """What the agents conclude, by the lead's area code: most are sales; some ask for a callback in
    20 s, some are the wrong person, some ask never to be called again."""
    index = AREA_CODES.index(int(phone[2:5]))
    if index % 10 == 0:
        return {
            "outcome": "callback",
            "right_party": True,
            "callback_at": datetime.now(UTC) + timedelta(seconds=20),
        }
    if index % 10 == 1:
        return {"outcome": "wrong_party", "right_party": False}
    if index % 10 == 2:
        return {"outcome": "do_not_call", "right_party": True}
    return {"outcome": "sale", "right_party": True}


@pytest.mark.parametrize(
    "scale",
    [
        # the run: 200 leads dialled (+ 9 never dialled), about 4 minutes
        pytest.param(1.0, marks=pytest.mark.slow, id="200-leads"),
        # the same run, scaled down for CI (about a minute and a half)
        pytest.param(0.3, id="60-leads"),
    ],
)
async def test_a_predictive_campaign_runs_to_completion_inside_the_rules(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path, scale: float
) -> None:
    windows = windows_open_now()
    async with sipp_phones(6) as phones:
        agents = {f"A{i}": endpoint for i, endpoint in enumerate(phones, 1)}
        config = dialer_config(
            tmp_path,
            campaign={
                "mode": "predictive",
                "ring_timeout_s": 6,
                "max_attempts": 2,
                "retry_delays_s": RETRY_S,
                "machine": "message",
                "machine_message": "ccapp/ccapp-machine-message",
                "calling_windows": windows,
                "daily_cap": 3,
            },
            agents=agents,
        )
        app = await start_ccapp(sqlite_url, config=config)
        dialer = app.dialer
        assert dialer is not None and app.c.ami is not None
        machine_messages: set[str] = set()

        def on_user_event(message: Any) -> None:
            if message.get("UserEvent") == "CcappMachineMessage":
                machine_messages.add(message.get("Attempt") or "")

        app.c.ami.on_event("UserEvent", on_user_event)

        rows = [
            {"phone": number(kind, i), "zone": "UTC", "name": f"{kind}-{i}"}
            for kind, count in MIX.items()
            for i in range(round(count * scale))
        ]
        blocked_before = [number(PERSON, 100 + i) for i in range(4)]
        closed = [number(PERSON, 200 + i) for i in range(5)]
        rows += [{"phone": p, "zone": "UTC", "name": "dnc"} for p in blocked_before]
        rows += [{"phone": p, "zone": CLOSED_ZONE, "name": "closed"} for p in closed]
        random.Random(6).shuffle(rows)  # a list mixes people, machines and bad numbers
        csv_path = tmp_path / "leads.csv"
        csv_path.write_text(
            "phone,zone,name\n" + "".join(f"{r['phone']},{r['zone']},{r['name']}\n" for r in rows)
        )
        report = await import_leads(app, csv_path)
        dialable = sum(round(count * scale) for count in MIX.values())
        assert report.imported == len(rows) == dialable + 9

        # do-not-call before the start: two exact numbers (global), one prefix (global), one exact
        # number on the campaign's own list
        for path, numbers in (
            ("/api/v1/dnc/global", [blocked_before[0], blocked_before[1], blocked_before[2][:-1] + "*"]),
            ("/api/v1/dnc/campaign:c1", [blocked_before[3]]),
        ):
            status, body = await api(app, "POST", path, token=SUPERVISOR_TOKEN, json={"numbers": numbers})
            assert status == 200, body
        for agent_id in agents:
            await login(app, agent_id)
        started = time.monotonic()
        with AgentHands(app, talk_s=2, dispose=_dispose) as hands:
            status, body = await api(app, "POST", "/api/v1/campaigns/c1/start", token=SUPERVISOR_TOKEN)
            assert status == 200, body

            # mid-campaign: three busy numbers that were dialled once and wait for their retry go on
            # the do-not-call list, each as soon as it is seen waiting; none may be dialled after that
            blocked_during: list[str] = []

            async def three_busy_listed() -> bool:
                for r in await leads(app):
                    if (
                        r["phone"][-2] == BUSY
                        and r["phone"] not in blocked_during
                        and r["status"] == "scheduled"
                        and r["attempts"] == 1
                        and r["next_attempt_at"] > datetime.now(UTC) + timedelta(seconds=1)
                    ):
                        status, body = await api(
                            app,
                            "POST",
                            "/api/v1/dnc/global",
                            token=SUPERVISOR_TOKEN,
                            json={"numbers": [r["phone"]]},
                        )
                        assert status == 200, body
                        blocked_during.append(r["phone"])
                        break
                return len(blocked_during) >= 3

            await wait_for(three_busy_listed, timeout=180, what="three busy leads listed while retrying")

            async def done() -> bool:
                if dialer.attempts:
                    return False
                soon = datetime.now(UTC) + timedelta(minutes=5)
                for r in await leads(app):
                    if r["status"] in ("new", "dialling"):
                        return False
                    if r["status"] == "scheduled" and r["next_attempt_at"] < soon:
                        return False
                return True

            await wait_for(done, timeout=420, what="every lead final or scheduled past the run")
        elapsed = time.monotonic() - started
        await app.c.journal.flush()

    url = app.settings.database.url
    dialled = await attempts(app)
    lead_rows = {r["phone"]: r for r in await leads(app)}
    by_phone: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in dialled:
        by_phone[a["phone"]].append(a)

    # every lead ends in a final or scheduled state
    assert {r["status"] for r in lead_rows.values()} <= {"done", "exhausted", "dnc", "scheduled"}
    # no number outside its window, none blocked when dialled: every attempt checked against both
    spec = CallingWindows.parse(windows)
    dnc = await db_rows(url, "SELECT list_name, entry, added_at FROM dnc_entries")
    for a in dialled:
        lead = lead_rows[a["phone"]]
        assert spec.open_at(a["started_at"], ZoneInfo(lead["time_zone"])), a
        for entry in dnc:
            if entry["list_name"] not in ("global", "campaign:c1"):
                continue
            hit = entry["entry"] == a["phone"] or (
                entry["entry"].endswith("*") and a["phone"].startswith(entry["entry"][:-1])
            )
            assert not (hit and entry["added_at"] <= a["started_at"]), (a, entry)
    for phone in blocked_before:
        assert phone not in by_phone and lead_rows[phone]["status"] == "dnc"
    listed_at = {e["entry"]: e["added_at"] for e in dnc if e["list_name"] == "global"}
    for phone in blocked_during:
        # never dialled once listed; blocked when it came up again — unless its retry had just been
        # dialled as the entry went in (then that was its last attempt)
        assert all(a["started_at"] < listed_at[phone] for a in by_phone[phone])
        assert lead_rows[phone]["status"] == "dnc" or len(by_phone[phone]) == 2, lead_rows[phone]
    assert sum(lead_rows[p]["status"] == "dnc" for p in blocked_during) >= 2
    for phone in closed:
        lead = lead_rows[phone]
        assert phone not in by_phone and lead["status"] == "scheduled"
        assert lead["next_attempt_at"] == spec.next_open(datetime.now(UTC), ZoneInfo(CLOSED_ZONE))

    # people were bridged to agents (or, if none could be there in time, heard the message)
    people = [a for a in dialled if a["phone"][-2] == PERSON]
    assert people and all(a["result"] == "human" for a in people)
    for a in people:
        assert a["abandoned"] or (a["agent_id"] in agents and a["connected_at"] is not None), a
    abandoned = [a for a in dialled if a["abandoned"]]
    for a in abandoned:
        heard = onset_s(pstn_recording(a["phone"], a["attempt_id"]))
        said = [e for e in await timed_events(url, a["call_id"]) if e["kind"] in ("prompt", "variable")]
        assert heard is not None and heard <= 2.0, (a, heard, said)
    on_call = await db_rows(url, "SELECT agent_id, campaign FROM agent_states WHERE to_state = 'on_call'")
    assert on_call and all(r["campaign"] == "c1" for r in on_call)
    assert len(hands.dispositioned) == len([a for a in dialled if a["connected_at"] is not None])

    # machines got the campaign's treatment: a message after the greeting
    machines = [a for a in dialled if a["amd"] == "MACHINE"]
    assert machines and {a["attempt_id"] for a in machines} <= machine_messages
    true_machines = [a for a in dialled if a["phone"][-2] == MACHINE]
    assert sum(a["amd"] == "MACHINE" for a in true_machines) >= 0.9 * len(true_machines)

    # failures recorded with their causes
    causes = Counter(
        (a["result"], a["hangup_cause"]) for a in dialled if a["phone"][-2] in (BUSY, CONGESTION)
    )
    assert set(causes) == {("busy", 17), ("congestion", 34)}, causes
    assert all(a["result"] == "no_answer" for a in dialled if a["phone"][-2] == NO_ANSWER)

    # retries per policy: a second attempt only after the result's delay, never more than two
    # (a callback the person asked for is kept: it may be a third), at or after the callback time
    for phone, tries in by_phone.items():
        lead = lead_rows[phone]
        tries.sort(key=lambda a: a["started_at"])
        for first, second in itertools.pairwise(tries):
            if first["outcome"] == "callback":
                continue
            kind = "abandoned" if first["abandoned"] else first["result"]
            delay = RETRY_S.get(kind)
            if delay is not None:
                assert (second["started_at"] - first["ended_at"]).total_seconds() >= delay - 0.5, (
                    first,
                    second,
                )
        if not any(t["outcome"] == "callback" for t in tries[:-1]):
            assert len(tries) <= 2, tries
        assert lead["attempts"] == len(tries)
    retried = [p for p, t in by_phone.items() if len(t) == 2 and p[-2] in (BUSY, NO_ANSWER, CONGESTION)]
    assert len(retried) >= 30 * scale
    # a callback is honoured at its time (20 s after the disposition) — or, when the number already
    # had its daily cap of dials, at the next day's window
    callbacks = [a for a in dialled if a["outcome"] == "callback"]
    for cb in callbacks:
        later = [t for t in by_phone[cb["phone"]] if t["started_at"] > cb["started_at"]]
        lead = lead_rows[cb["phone"]]
        if later:
            assert (later[0]["started_at"] - cb["ended_at"]).total_seconds() >= 19, (cb, later[0])
        else:
            assert lead["status"] == "scheduled" and lead["callback_at"] is not None, lead
            assert len(by_phone[cb["phone"]]) == 3 and lead["next_attempt_at"] > datetime.now(UTC), lead
    assert callbacks
    assert max(len(t) for t in by_phone.values()) <= 3  # daily_cap

    live = [a for a in dialled if a["result"] in ("human", "notsure")]
    print(
        f"\n{dialable}-lead predictive run: {len(dialled)} attempts in {elapsed:.0f} s, "
        f"{len(live)} live answers, "
        f"{len(abandoned)} abandoned ({100 * len(abandoned) / max(1, len(live)):.1f} %), "
        f"{len(machines)} machines, {len(retried)} retried, {len(callbacks)} callbacks"
    )
    await asyncio.sleep(0)
