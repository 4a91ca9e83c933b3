"""KPIs end to end: real calls through Asterisk and ccapp's ACD, then the KPI engine (and ``ccapp kpi``)
over the SQL rows they left, checked against what the test knows happened.

One morning of a small center, in three acts (about a minute):

1. agent K is on a break while four billing callers arrive: one hangs up after 2 s (a short abandon),
   one after 7 s (abandoned), two wait until K is ready and are answered (K's phone talks 2 s);
   K marks both resolved, topic ``billing``, while wrapping up;
2. the first caller calls again about billing: a repeat contact within W, so the first contact no
   longer counts as resolved, and the repeat is not a first contact;
3. K goes on a break and S takes two billing calls; S transfers one to ``queue:support`` (where T
   answers: what the escalation rule for ``billing`` says) and one to an outside number (wrong).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ccapp.app import Application
from ccapp.kpi.definitions import Dimension, Interval, ReportRequest, Thresholds
from ccapp.kpi.engine import build_report
from ccapp.storage import Database
from tests.e2e.acd_support import (
    acd_config,
    agent_phone,
    agent_states,
    agent_token,
    agent_view,
    api,
    call_id_of,
    db_rows,
    flushed,
    hangup_channel,
    login,
    originate_local_caller,
    queue_calls,
    set_ready,
    wait_agent_call,
    wait_agent_state,
    wait_for,
    wait_queue_waiting,
)
from tests.e2e.conftest import StartCcapp, settle

pytestmark = pytest.mark.asterisk

BILLING_TREE = {
    "start": "topic",
    "nodes": {
        "topic": {"type": "set", "vars": {"topic": "billing"}, "next": "to_queue"},
        "to_queue": {"type": "queue", "queue": "sales", "next": "bye"},
        "bye": {"type": "hangup"},
    },
}
ALL_KPIS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandons",
    "service_level",
    "sl2",
    "asa_s",
    "abandon_rate",
    "handled",
    "aht_s",
    "contact_resolution",
    "fcr",
    "transfer_rate",
    "escalation_accuracy",
    "ivr_containment",
    "occupancy",
    "utilization",
)
HANDLING = {"reserved", "ringing", "on_call", "wrap_up"}


async def dispose(app: Application, agent_id: str, call_id: str, *, resolved: bool) -> None:
    body = {"call_id": call_id, "outcome": "solved", "resolved": resolved, "topic": "billing"}
    status, reply = await api(
        app, "POST", f"/api/v1/agents/{agent_id}/disposition", token=agent_token(agent_id), json=body
    )
    assert status in (200, 204), (status, reply)


async def dispose_next_call(app: Application, agent_id: str) -> str:
    """Wait for ``agent_id``'s next call, then mark it resolved (topic billing) during its wrap-up."""
    await wait_agent_state(app, agent_id, ("reserved", "ringing", "on_call"), timeout=20)
    call_id = await wait_agent_call(app, agent_id)
    await wait_agent_state(app, agent_id, "wrap_up", timeout=20)
    await dispose(app, agent_id, call_id, resolved=True)
    return call_id


async def not_ready(app: Application, agent_id: str) -> None:
    status, reply = await api(
        app,
        "POST",
        f"/api/v1/agents/{agent_id}/not_ready",
        token=agent_token(agent_id),
        json={"reason": "break"},
    )
    assert status == 200, (status, reply)


async def transfer(app: Application, call_id: str, target: str) -> None:
    status, reply = await api(
        app,
        "POST",
        f"/api/v1/calls/{call_id}/transfer",
        token=agent_token("S"),
        json={"type": "blind", "target": target},
    )
    assert status == 200, (status, reply)


def handling_and_ready(rows: list[dict[str, Any]], end: datetime) -> tuple[float, float]:
    """An agent's handling and ready seconds from its state rows, each state lasting until the next."""
    handling = ready = 0.0
    for row, after in zip(rows, [*rows[1:], None], strict=True):
        span = ((after["at"] if after else end) - row["at"]).total_seconds()
        if row["to_state"] in HANDLING:
            handling += span
        elif row["to_state"] == "ready":
            ready += span
    return handling, ready


def quarter(at: datetime, up: bool = False) -> datetime:
    floor = at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)
    return floor + timedelta(minutes=15) if up else floor


async def test_kpis_of_a_morning_of_real_calls_match_what_happened(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    config = acd_config(
        tmp_path,
        queues={
            "sales": {"wrap_up_s": 3, "ring_timeout_s": 5, "leave_when_empty": False},
            "support": {"skills": {"support": 1}, "wrap_up_s": 1, "ring_timeout_s": 5},
        },
        agents={
            "K": {"endpoint": agent_phone("answer-2"), "skills": {"sales": 3}, "queues": ["sales"]},
            "S": {"endpoint": agent_phone("answer", 2), "skills": {"sales": 3}, "queues": ["sales"]},
            "T": {"endpoint": agent_phone("answer-2", 3), "skills": {"support": 3}, "queues": ["support"]},
        },
        trees={"billing": BILLING_TREE},
        extra={"acd": {"escalation": {"billing": "queue:support"}}},
    )
    app = await start_ccapp(sqlite_url, config=config)
    began = datetime.now(UTC)

    # act 1: K on a break; two quitters, two waiters
    await login(app, "K", ready=False)
    await login(app, "T")
    channels = {}
    for name, number, behaviour in (
        ("short", "+15550001", "hold-2"),
        ("gave_up", "+15550002", "hold-7"),
        ("first", "+15550003", "hold-40"),
        ("second", "+15550004", "hold-40"),
    ):
        channels[name] = await originate_local_caller(app, "billing", behaviour, caller_id=number)
        await asyncio.sleep(0.3)
    ids = {name: await call_id_of(app, channel) for name, channel in channels.items()}
    await wait_queue_waiting(app, "sales", 2, timeout=15)
    await set_ready(app, "K")
    assert {await dispose_next_call(app, "K"), await dispose_next_call(app, "K")} == {
        ids["first"],
        ids["second"],
    }
    await settle(app, 4, timeout=60)
    await wait_agent_state(app, "K", "ready", timeout=5)

    # act 2: the first caller again, same topic
    repeat = await originate_local_caller(app, "billing", "hold-40", caller_id="+15550003")
    ids["repeat"] = await call_id_of(app, repeat)
    assert await dispose_next_call(app, "K") == ids["repeat"]
    await settle(app, 5, timeout=30)
    await wait_agent_state(app, "K", "ready", timeout=10)

    # act 3: S transfers one call right (queue:support) and one wrong (an outside number)
    await not_ready(app, "K")
    await login(app, "S")
    for name, number, target in (
        ("right", "+15550005", "queue:support"),
        ("wrong", "+15550006", "number:5550199"),
    ):
        channel = await originate_local_caller(app, "billing", "stay", caller_id=number)
        await wait_agent_state(app, "S", "on_call", timeout=15)
        ids[name] = await wait_agent_call(app, "S")
        await transfer(app, ids[name], target)
        await wait_agent_state(app, "S", "ready", timeout=10)  # wrap-up (3 s) over
        if name == "right":  # T's phone answers, hangs up after 2 s, and T wraps up 1 s

            async def t_done() -> bool:
                view = await agent_view(app, "T")
                return bool(view["state"] == "ready" and view["calls_today"] == 1)

            await wait_for(t_done, timeout=20, what="T took the transferred call")
        await hangup_channel(app, channel)
    await settle(app, 7, timeout=30)
    url = await flushed(app)
    ended = datetime.now(UTC)

    rows = {name: await queue_calls(url, call_id) for name, call_id in ids.items()}
    sales = {name: entries[0] for name, entries in rows.items()}
    assert [r["outcome"] for r in sales.values()] == ["abandoned"] * 2 + ["answered"] * 5
    assert [e["queue"] for e in rows["right"]] == ["sales", "support"]
    handled = [r for r in sales.values() if r["talk_s"] is not None]
    assert len(handled) == 5
    assert all(r["wrap_s"] == pytest.approx(3.0, abs=0.5) for r in handled)

    thresholds = Thresholds(sl_threshold_s=20.0, short_abandon_s=5.0, repeat_window_s=7 * 86400.0)
    request = ReportRequest(
        start=quarter(began),
        end=quarter(ended, up=True),
        dimensions=(Dimension.QUEUE,),
        kpis=ALL_KPIS,
        thresholds=thresholds,
    )
    rollup_kpis = (*ALL_KPIS[: ALL_KPIS.index("aht_s") + 1], "contact_resolution", "fcr")
    db = Database(url)
    try:
        raw_by_queue = await build_report(db, request)
        by_queue = await build_report(db, replace(request, kpis=rollup_kpis))
        by_queue_raw = await build_report(db, replace(request, kpis=rollup_kpis), use_rollups=False)
        by_agent = await build_report(
            db,
            ReportRequest(
                start=began - timedelta(seconds=1),
                end=ended,
                dimensions=(Dimension.AGENT,),
                kpis=("handled", "occupancy", "utilization"),
                thresholds=thresholds,
            ),
        )
        daily = await build_report(
            db,
            ReportRequest(
                start=began - timedelta(hours=1),
                end=ended + timedelta(hours=1),
                zone="Europe/Paris",
                interval=Interval.DAY,
                kpis=ALL_KPIS,
                thresholds=thresholds,
            ),
        )
    finally:
        await db.dispose()

    # the roll-ups kept as calls closed give the raw tables' numbers
    assert (by_queue.source, by_queue_raw.source, raw_by_queue.source) == ("rollup", "raw", "raw")
    assert [(r.key, r.measures) for r in by_queue.rows] == [(r.key, r.measures) for r in by_queue_raw.rows]

    raw = {row.key["queue"]: row.kpis for row in raw_by_queue.rows}
    s, t = raw["sales"], raw["support"]
    waits = [r["wait_s"] for r in sales.values() if r["outcome"] == "answered"]
    handle = [r["talk_s"] + (r["hold_s"] or 0.0) + r["wrap_s"] for r in handled]
    assert s["offered"] == 6 and s["short_abandons"] == 1 and s["abandoned"] == 1 and s["answered"] == 5
    assert s["service_level"] == pytest.approx(5 / 6)  # every answered call waited well under 20 s
    assert s["sl2"] == pytest.approx(1.0)  # both quitters left within T too
    assert s["abandon_rate"] == pytest.approx(1 / 6)
    assert s["asa_s"] == pytest.approx(sum(waits) / 5)
    assert s["aht_s"] == pytest.approx(sum(handle) / 5)
    # contacts: first (resolved, then repeated), second (resolved), repeat (resolved, not a first
    # contact), wrong (topic billing, no disposition); "right" ended in support with T
    assert s["contact_resolution"] == pytest.approx(2 / 4)
    assert s["fcr"] == pytest.approx(1 / 3)
    assert s["transfer_rate"] == pytest.approx(2 / 5)
    assert s["escalation_accuracy"] == pytest.approx(1 / 2)
    assert t["offered"] == 1 and t["answered"] == 1 and t["contact_resolution"] == 0.0 and t["fcr"] == 0.0

    # the whole morning in one Paris day: every call ran the IVR and went to a queue
    [day] = daily.rows
    assert day.kpis["offered"] == 7 and day.kpis["answered"] == 6
    assert day.kpis["ivr_containment"] == 0.0
    assert day.kpis["contact_resolution"] == pytest.approx(2 / 5)
    assert day.kpis["fcr"] == pytest.approx(1 / 4)

    # occupancy of each agent from its state rows
    agents = {row.key["agent"]: row.kpis for row in by_agent.rows}
    assert agents["K"]["handled"] == 3 and agents["S"]["handled"] == 2 and agents["T"]["handled"] == 1
    for agent_id in ("K", "S", "T"):
        handling, ready = handling_and_ready(await agent_states(url, agent_id), ended)
        assert agents[agent_id]["occupancy"] == pytest.approx(handling / (handling + ready), abs=1e-6)
    k_handling, _ = handling_and_ready(await agent_states(url, "K"), ended)
    assert 3 * 5.0 - 1.5 <= k_handling <= 3 * 5.0 + 3.0  # three calls of ~2 s talk + 3 s wrap-up

    # `ccapp kpi` prints the same numbers
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "ccapp"),
            "kpi",
            "--db",
            url,
            "--from",
            request.start.strftime("%Y-%m-%dT%H:%M"),
            "--to",
            request.end.strftime("%Y-%m-%dT%H:%M"),
            "--tz",
            "UTC",
            "--by",
            "queue",
            "--kpis",
            ",".join(ALL_KPIS),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    printed = {row["key"]["queue"]: row["kpis"] for row in json.loads(out.stdout)["rows"]}
    for queue, kpis in raw.items():
        for name, value in kpis.items():
            assert printed[queue][name] == pytest.approx(value), (queue, name)
    assert await db_rows(url, "SELECT count(*) AS n FROM transfers") == [{"n": 2}]
