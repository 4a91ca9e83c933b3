"""ACD end to end: Local-channel (and SIPp) callers → Asterisk → an IVR ``queue`` node → ccapp's ACD
→ Local-channel (and SIPp) agent phones, asserted on the SQL rows (``queue_calls``, ``agent_states``)
and the journal.

The agent phones and callers are described in tests/e2e/acd_support.py. Ring and wrap-up timers are a
few seconds so the file stays fast; every wait is bounded. The Asterisk-restart test comes last: it
restarts the shared test bed.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ccapp.app import Application
from tests.e2e.acd_support import (
    CALLER_ID,
    SUPERVISOR_TOKEN,
    acd_config,
    agent_phone,
    agent_states,
    agent_view,
    api,
    call_id_of,
    db_rows,
    flushed,
    login,
    originate_local_caller,
    queue_calls,
    queue_tree,
    queue_view,
    set_ready,
    timed_events,
    wait_agent_call,
    wait_agent_state,
    wait_for,
    wait_queue_waiting,
)
from tests.e2e.conftest import StartCcapp, settle
from tests.support import testbed
from tests.support.sipp_dtmf import dtmf_caller, run_dtmf_caller
from tests.support.testbed import free_udp_port, run_sipp

pytestmark = pytest.mark.asterisk

SALES = {"sales": queue_tree("sales")}


def agent(
    phone: str, *, skills: dict[str, int] | None = None, queues: tuple[str, ...] = ("sales",)
) -> dict[str, Any]:
    return {"endpoint": phone, "skills": {"sales": 3} if skills is None else skills, "queues": list(queues)}


async def start(
    start_ccapp: StartCcapp,
    sqlite_url: str,
    tmp_path: Path,
    *,
    queues: dict[str, Any],
    agents: dict[str, Any],
    trees: dict[str, Any] = SALES,
    extra: dict[str, Any] | None = None,
) -> Application:
    config = acd_config(tmp_path, queues=queues, agents=agents, trees=trees, extra=extra)
    return await start_ccapp(sqlite_url, config=config)


async def events(app: Application, call_id: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The call's journal (seq, at, kind, data), or only events of ``kind``."""
    found = await timed_events(await flushed(app), call_id)
    return [e for e in found if kind is None or e["kind"] == kind]


async def all_offers(app: Application) -> list[dict[str, Any]]:
    """Every ``agent.offered`` event of every call, oldest first."""
    return await db_rows(
        await flushed(app),
        "SELECT call_id, at, data FROM call_events WHERE kind = 'agent.offered' ORDER BY at",
    )


def acd_steps(journal: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ACD's events of a journal, without the announcements (their number depends on timing)."""
    return [
        e
        for e in journal
        if e["kind"] != "queue.announced" and e["kind"].startswith(("queue.", "agent.", "callback."))
    ]


def to_states(rows: list[dict[str, Any]]) -> list[str]:
    """The states an agent went through (``reserved``, a step some routes skip, left out)."""
    return [r["to_state"] for r in rows if r["to_state"] != "reserved"]


async def test_the_longest_idle_ready_agent_with_the_skill_gets_the_call(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    app = await start(
        start_ccapp,
        sqlite_url,
        tmp_path,
        queues={"sales": {"skills": {"sales": 2}, "wrap_up_s": 1, "ring_timeout_s": 5}},
        agents={
            "A": agent(agent_phone("answer")),
            "B": agent(agent_phone("answer", 2)),
            # in the queue, but without the skill it requires
            "C": agent(agent_phone("answer", 3), skills={"support": 5}),
        },
    )
    # B is ready first, so B has been idle longest; C is ready last but could never take it anyway
    await login(app, "B")
    await asyncio.sleep(0.3)
    await login(app, "A")
    await asyncio.sleep(0.3)
    await login(app, "C")
    channel = await originate_local_caller(app, "sales", "hold-5")
    call_id = await call_id_of(app, channel)
    await wait_agent_state(app, "B", "on_call", timeout=10)
    assert (await agent_view(app, "A"))["state"] == "ready"
    await settle(app, 1)

    [row] = await queue_calls(await flushed(app), call_id)
    assert row["queue"] == "sales"
    assert row["outcome"] == "answered"
    assert row["agent_id"] == "B"
    assert (row["offered_count"], row["no_answer_count"]) == (1, 0)
    assert row["caller_number"] == CALLER_ID
    assert row["wait_s"] < 3
    assert row["connected_at"] is not None and row["disconnected_at"] is not None
    assert 2 < row["talk_s"] < 6.5  # the caller hangs up 5-5.5 s after ccapp answered
    assert [o["data"]["agent_id"] for o in await all_offers(app)] == ["B"]
    kinds = [e["kind"] for e in acd_steps(await events(app, call_id))]
    steps = ["queue.entered", "agent.offered", "queue.left", "agent.connected", "agent.disconnected"]
    assert kinds in (steps, [*steps, "agent.wrapped"])  # B's wrap-up may be over already
    [connected] = await events(app, call_id, "agent.connected")
    assert connected["data"]["agent_id"] == "B"
    await wait_agent_state(app, "B", "ready", timeout=5)  # after its 1 s wrap-up
    b_states = await agent_states(await flushed(app), "B")
    assert to_states(b_states) == ["ready", "ringing", "on_call", "wrap_up", "ready"]
    assert {r["call_id"] for r in b_states if r["to_state"] in ("ringing", "on_call", "wrap_up")} == {call_id}
    # A and C were never touched
    for other in ("A", "C"):
        assert to_states(await agent_states(await flushed(app), other)) == ["ready"]


async def test_a_priority_call_jumps_the_line(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    app = await start(
        start_ccapp,
        sqlite_url,
        tmp_path,
        queues={"sales": {"wrap_up_s": 0, "ring_timeout_s": 5, "leave_when_empty": False}},
        agents={"X": agent(agent_phone("answer-2"))},
        trees={"sales": queue_tree("sales"), "sales_vip": queue_tree("sales", priority=5)},
    )
    await login(app, "X", ready=False)
    first = await originate_local_caller(app, "sales", "hold-40")
    await wait_queue_waiting(app, "sales", 1)
    second = await originate_local_caller(app, "sales", "hold-40")
    await wait_queue_waiting(app, "sales", 2)
    vip = await originate_local_caller(app, "sales_vip", "hold-40")
    await wait_queue_waiting(app, "sales", 3)
    ids = {
        name: await call_id_of(app, ch) for name, ch in (("first", first), ("second", second), ("vip", vip))
    }
    await set_ready(app, "X")
    # each call: answered at once, the agent hangs up 2.5 s later, no wrap-up
    await settle(app, 3, timeout=60)

    url = await flushed(app)
    rows = {name: (await queue_calls(url, call_id))[0] for name, call_id in ids.items()}
    assert {name: row["priority"] for name, row in rows.items()} == {"first": 0, "second": 0, "vip": 5}
    assert all(row["outcome"] == "answered" and row["agent_id"] == "X" for row in rows.values())
    by_connection = sorted(rows, key=lambda name: rows[name]["connected_at"])
    assert by_connection == ["vip", "first", "second"]
    # ...although it came last
    by_arrival = sorted(rows, key=lambda name: rows[name]["entered_at"])
    assert by_arrival == ["first", "second", "vip"]
    offers = await all_offers(app)
    assert offers[0]["call_id"] == ids["vip"]
    assert len(offers) == 3


async def test_ring_no_answer_makes_the_agent_not_ready_and_the_next_agent_gets_the_call(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    app = await start(
        start_ccapp,
        sqlite_url,
        tmp_path,
        queues={"sales": {"ring_timeout_s": 3, "wrap_up_s": 1}},
        agents={"X": agent(agent_phone("noanswer")), "Y": agent(agent_phone("answer"))},
    )
    await login(app, "X")  # idle longest: offered first
    await asyncio.sleep(0.3)
    await login(app, "Y")
    channel = await originate_local_caller(app, "sales", "hold-10")
    call_id = await call_id_of(app, channel)
    await wait_agent_state(app, "X", "ringing", timeout=10)
    missed = await wait_agent_state(app, "X", "not_ready", timeout=8)
    assert missed["reason"] == "missed"
    await wait_agent_state(app, "Y", "on_call", timeout=8)
    await settle(app, 1)

    journal = acd_steps(await events(app, call_id))
    assert [(e["kind"], e["data"].get("agent_id")) for e in journal] == [
        ("queue.entered", None),
        ("agent.offered", "X"),
        ("agent.no_answer", "X"),
        ("agent.offered", "Y"),
        ("queue.left", None),
        ("agent.connected", "Y"),
        ("agent.disconnected", "Y"),
    ]
    no_answer = journal[2]["data"]
    assert 2.8 <= no_answer["ring_s"] <= 4.0
    assert (journal[2]["at"] - journal[1]["at"]).total_seconds() == pytest.approx(3.0, abs=0.7)
    # the call kept its place: one queue entry, entered once, waited through the missed ring
    [row] = await queue_calls(await flushed(app), call_id)
    assert row["entered_at"] == journal[0]["at"]
    assert (row["outcome"], row["agent_id"]) == ("answered", "Y")
    assert (row["offered_count"], row["no_answer_count"]) == (2, 1)
    assert row["wait_s"] >= 2.8
    x_states = await agent_states(await flushed(app), "X")
    assert x_states[-1]["to_state"] == "not_ready" and x_states[-1]["reason"] == "missed"
    assert x_states[-1]["call_id"] in (call_id, None)
    assert "ringing" in [r["to_state"] for r in x_states]
    assert (await agent_view(app, "X"))["state"] == "not_ready"


async def test_wrap_up_blocks_new_calls_for_its_duration(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    wrap_up_s = 4.0
    app = await start(
        start_ccapp,
        sqlite_url,
        tmp_path,
        queues={"sales": {"wrap_up_s": wrap_up_s, "ring_timeout_s": 5}},
        agents={"W": agent(agent_phone("answer-2"))},
    )
    await login(app, "W")
    first = await originate_local_caller(app, "sales", "hold-30")
    first_id = await call_id_of(app, first)
    await wait_agent_state(app, "W", "on_call", timeout=10)
    second = await originate_local_caller(app, "sales", "hold-30")
    second_id = await call_id_of(app, second)
    await wait_queue_waiting(app, "sales", 1)
    # the agent hangs up about 2.5 s after answering: wrap-up, and the second call keeps waiting
    await wait_agent_state(app, "W", "wrap_up", timeout=10)
    await asyncio.sleep(wrap_up_s / 2)
    assert (await agent_view(app, "W"))["state"] == "wrap_up"
    assert (await queue_view(app, "sales"))["waiting"] == 1
    await settle(app, 2, timeout=40)

    [ended] = await events(app, first_id, "agent.disconnected")
    assert ended["data"]["by"] == "agent"
    states = await agent_states(await flushed(app), "W")
    wrap = next(i for i, r in enumerate(states) if r["to_state"] == "wrap_up")
    assert states[wrap]["call_id"] == first_id
    assert states[wrap + 1]["to_state"] == "ready"
    assert (states[wrap + 1]["at"] - states[wrap]["at"]).total_seconds() == pytest.approx(wrap_up_s, abs=0.5)
    [row] = await queue_calls(await flushed(app), second_id)
    assert (row["outcome"], row["agent_id"]) == ("answered", "W")
    assert row["wait_s"] >= wrap_up_s
    # the waiting call is offered as soon as the wrap-up ends, not when its announcement is over
    [offer] = await events(app, second_id, "agent.offered")
    gap = (offer["at"] - ended["at"]).total_seconds()
    assert wrap_up_s - 0.25 <= gap <= wrap_up_s + 1.5, f"offered {gap:.2f} s after the first call ended"


async def test_a_caller_who_hangs_up_while_waiting_is_recorded_as_abandoned_with_the_wait(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    app = await start(
        start_ccapp,
        sqlite_url,
        tmp_path,
        # nobody logged in, and the callers wait anyway
        queues={"sales": {"leave_when_empty": False}},
        agents={"Z": agent(agent_phone("answer"))},  # never logs in
    )
    channel = await originate_local_caller(app, "sales", "hold-5")
    call_id = await call_id_of(app, channel)
    await settle(app, 1)

    [row] = await queue_calls(await flushed(app), call_id)
    assert row["outcome"] == "abandoned"
    assert 4.3 <= row["wait_s"] <= 6.2, row["wait_s"]
    assert row["agent_id"] is None and row["offered_count"] == 0
    assert row["left_at"] is not None
    [left] = await events(app, call_id, "queue.left")
    assert left["data"]["reason"] == "abandoned"
    assert left["data"]["wait_s"] == pytest.approx(row["wait_s"], abs=0.2)
    assert (await queue_view(app, "sales"))["waiting"] == 0


async def test_past_max_wait_the_call_overflows_to_another_queue_and_is_answered_there(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    app = await start(
        start_ccapp,
        sqlite_url,
        tmp_path,
        queues={
            "sales": {"max_wait_s": 3, "overflow": "support", "leave_when_empty": False},
            "support": {"wrap_up_s": 1},
        },
        agents={
            "N": agent(agent_phone("answer")),  # sales: logged in, not ready
            "S": agent(agent_phone("answer", 2), skills={"support": 3}, queues=("support",)),
        },
    )
    await login(app, "N", ready=False)
    await login(app, "S")
    channel = await originate_local_caller(app, "sales", "hold-10")
    call_id = await call_id_of(app, channel)
    await wait_agent_state(app, "S", "on_call", timeout=10)
    await settle(app, 1)

    first, second = await queue_calls(await flushed(app), call_id)
    assert (first["entry"], first["queue"], first["outcome"]) == (1, "sales", "overflow")
    assert first["target"] in ("support", "queue:support")
    # max wait is checked about once a second; an announcement playing must not hold the call longer
    assert 2.8 <= first["wait_s"] <= 4.2, first["wait_s"]
    assert (second["entry"], second["queue"], second["outcome"], second["agent_id"]) == (
        2,
        "support",
        "answered",
        "S",
    )
    assert second["entered_at"] >= first["left_at"]


async def test_a_full_queue_overflows_the_next_caller_at_once(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    app = await start(
        start_ccapp,
        sqlite_url,
        tmp_path,
        queues={
            "sales": {"max_length": 1, "overflow": "support", "leave_when_empty": False},
            "support": {"wrap_up_s": 1},
        },
        agents={
            "N": agent(agent_phone("answer")),
            "S": agent(agent_phone("answer", 2), skills={"support": 3}, queues=("support",)),
        },
    )
    await login(app, "N", ready=False)
    await login(app, "S")
    waiting = await originate_local_caller(app, "sales", "hold-10")
    await wait_queue_waiting(app, "sales", 1)
    second = await originate_local_caller(app, "sales", "hold-6")
    second_id = await call_id_of(app, second)
    waiting_id = await call_id_of(app, waiting)
    await settle(app, 2)

    first, moved = await queue_calls(await flushed(app), second_id)
    assert (first["queue"], first["outcome"]) == ("sales", "overflow")
    assert first["wait_s"] < 1.0
    assert (moved["queue"], moved["outcome"], moved["agent_id"]) == ("support", "answered", "S")
    [stayed] = await queue_calls(await flushed(app), waiting_id)
    assert (stayed["queue"], stayed["outcome"]) == ("sales", "abandoned")


async def test_a_callback_keeps_the_place_and_dials_the_agent_first_then_the_caller(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    app = await start(
        start_ccapp,
        sqlite_url,
        tmp_path,
        queues={
            "sales": {
                "callback_key": "1",
                "ring_timeout_s": 5,
                "wrap_up_s": 1,
                "announce_every_s": None,
                "leave_when_empty": False,
            }
        },
        agents={"K": agent(agent_phone("answer-4"))},
    )
    await login(app, "K", ready=False)
    # presses 1 about 3.5 s after ccapp answered, then stays until ccapp hangs up
    channel = await originate_local_caller(app, "sales", "key-1-3")
    call_id = await call_id_of(app, channel)
    await settle(app, 1)  # the caller heard the confirmation and was hung up
    requested = await events(app, call_id, "callback.requested")
    assert [e["data"]["number"] for e in requested] == [CALLER_ID]

    await set_ready(app, "K")
    await wait_agent_state(app, "K", "on_call", timeout=10)

    async def disconnected() -> list[dict[str, Any]]:
        return await events(app, call_id, "agent.disconnected")

    await wait_for(disconnected, timeout=20, what="the callback to end")
    journal = acd_steps(await events(app, call_id))
    kinds = [e["kind"] for e in journal]
    for earlier, later in [
        ("callback.requested", "agent.offered"),
        ("agent.offered", "callback.dialled"),
        ("callback.dialled", "agent.connected"),
        ("agent.connected", "agent.disconnected"),
    ]:
        assert kinds.index(earlier) < kinds.index(later), kinds
    dialled = next(e for e in journal if e["kind"] == "callback.dialled")
    assert dialled["data"]["answered"] is True
    assert dialled["data"]["agent_id"] == "K"
    assert dialled["data"]["number"] == CALLER_ID
    # the agent's phone was answered before the customer was dialled
    k_states = await agent_states(await flushed(app), "K")
    on_call = next(r for r in k_states if r["to_state"] == "on_call")
    assert on_call["at"] <= dialled["at"]
    [row] = await queue_calls(await flushed(app), call_id)
    assert row["callback"] is True or row["callback"] == 1
    assert row["outcome"] in ("callback", "answered")
    assert row["agent_id"] == "K"


async def test_ring_all_connects_one_agent_and_releases_the_other(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    app = await start(
        start_ccapp,
        sqlite_url,
        tmp_path,
        queues={"sales": {"strategy": "ring_all", "ring_timeout_s": 5, "wrap_up_s": 1}},
        # both answer the instant they ring
        agents={"R1": agent(agent_phone("answer")), "R2": agent(agent_phone("answer", 2))},
    )
    await login(app, "R1")
    await login(app, "R2")
    channel = await originate_local_caller(app, "sales", "hold-6")
    call_id = await call_id_of(app, channel)

    async def winner() -> str | None:
        for agent_id in ("R1", "R2"):
            if (await agent_view(app, agent_id))["state"] == "on_call":
                return agent_id
        return None

    won = await wait_for(winner, timeout=10, what="an agent on the call")
    lost = "R2" if won == "R1" else "R1"
    await wait_agent_state(app, lost, "ready", timeout=3)  # released while the call goes on
    assert (await agent_view(app, won))["state"] == "on_call"
    await settle(app, 1)

    offered = await events(app, call_id, "agent.offered")
    assert sorted(e["data"]["agent_id"] for e in offered) == ["R1", "R2"]
    connected = await events(app, call_id, "agent.connected")
    assert [e["data"]["agent_id"] for e in connected] == [won]
    released = await events(app, call_id, "agent.released")
    assert [(e["data"]["agent_id"], e["data"]["reason"]) for e in released] == [(lost, "other_answered")]
    [row] = await queue_calls(await flushed(app), call_id)
    assert (row["agent_id"], row["outcome"], row["offered_count"]) == (won, "answered", 2)
    lost_states = to_states(await agent_states(await flushed(app), lost))
    assert "on_call" not in lost_states
    assert lost_states[-1] == "ready"


async def test_a_sipp_caller_reaches_a_sipp_agent_phone_through_the_queue(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    # agent-sipp-1's settings with a contact of its own, so other tests' SIPp phones do not answer
    port = free_udp_port()
    endpoint = f"PJSIP/agent-sipp-1/sip:agent@127.0.0.1:{port}"
    app = await start(
        start_ccapp,
        sqlite_url,
        tmp_path,
        queues={"sales": {"ring_timeout_s": 8, "wrap_up_s": 1}},
        agents={"P": agent(endpoint)},
    )
    await login(app, "P")
    phone = asyncio.create_task(run_sipp("uas", service="agent", local_port=port, timeout=60))
    await asyncio.sleep(0.5)  # SIPp binds its port
    scenario = dtmf_caller(tmp_path, "", hangup_after_ms=8000)
    caller = await run_dtmf_caller(scenario, service="acd-sales", timeout=60)
    assert caller.ok, caller.stdout[-2000:]
    answered = await asyncio.wait_for(phone, 40)
    assert answered.ok, answered.stdout[-2000:]
    await settle(app, 1)

    [row] = await db_rows(await flushed(app), "SELECT * FROM queue_calls")
    assert (row["queue"], row["outcome"], row["agent_id"]) == ("sales", "answered", "P")
    assert row["wait_s"] < 5
    assert 2 < row["talk_s"] < 8.5
    [offer] = await events(app, row["call_id"], "agent.offered")
    assert offer["data"]["endpoint"] == endpoint
    await wait_agent_state(app, "P", "ready", timeout=5)


async def test_kpis_by_hand_from_the_queue_rows_match_what_happened(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    """Four callers: one gives up after 2 s (a short abandon: not offered), one after 7 s (abandoned),
    two are answered once the agent gets ready. DESIGN.md section 5 with T = 20 s and S = 5 s."""
    app = await start(
        start_ccapp,
        sqlite_url,
        tmp_path,
        queues={"sales": {"wrap_up_s": 1, "ring_timeout_s": 5, "leave_when_empty": False}},
        agents={"K": agent(agent_phone("answer-2"))},
    )
    await login(app, "K", ready=False)
    started = time.monotonic()
    channels = {}
    for name, behaviour in (
        ("short", "hold-2"),
        ("gave_up", "hold-7"),
        ("first", "hold-40"),
        ("second", "hold-40"),
    ):
        channels[name] = await originate_local_caller(app, "sales", behaviour)
        await asyncio.sleep(0.3)
    ids = {name: await call_id_of(app, ch) for name, ch in channels.items()}
    await wait_queue_waiting(app, "sales", 2, timeout=15)  # both quitters have gone
    ready_after = time.monotonic() - started
    await set_ready(app, "K")
    await settle(app, 4, timeout=60)
    await wait_agent_state(app, "K", "ready", timeout=5)  # the last wrap-up is over: AHT counts it

    url = await flushed(app)
    rows = {name: (await queue_calls(url, call_id))[0] for name, call_id in ids.items()}
    t_s, short_s = 20.0, 5.0
    entries = len(rows)
    short = [n for n, r in rows.items() if r["outcome"] == "abandoned" and r["wait_s"] < short_s]
    abandoned = [n for n, r in rows.items() if r["outcome"] == "abandoned" and r["wait_s"] >= short_s]
    answered = [n for n, r in rows.items() if r["outcome"] == "answered"]
    offered = entries - len(short)
    within_t = [n for n in answered if rows[n]["wait_s"] <= t_s]
    service_level = len(within_t) / offered
    asa = sum(rows[n]["wait_s"] for n in answered) / len(answered)
    abandon_rate = len(abandoned) / offered
    aht = sum(rows[n]["talk_s"] + (rows[n]["hold_s"] or 0) + 1.0 for n in answered) / len(answered)

    # what the test knows happened
    assert short == ["short"] and abandoned == ["gave_up"] and sorted(answered) == ["first", "second"]
    assert offered == 3
    assert service_level == pytest.approx(2 / 3)
    assert abandon_rate == pytest.approx(1 / 3)
    # "first" waited from its arrival (0.6 s after the start) until the agent got ready
    assert rows["first"]["wait_s"] == pytest.approx(ready_after - 0.6, abs=1.0)
    # "second" waited for the first call's talk (2.5 s) and wrap-up (1 s) on top
    assert 2.5 <= rows["second"]["wait_s"] - rows["first"]["wait_s"] <= 5.5
    assert asa == pytest.approx((rows["first"]["wait_s"] + rows["second"]["wait_s"]) / 2)
    assert aht == pytest.approx(3.5, abs=0.8)

    # ...and ccapp's own KPI query agrees with the hand count
    from ccapp.kpi.summary import queue_summary
    from ccapp.storage import Database

    first_in = min(r["entered_at"] for r in rows.values())
    db = Database(url)
    try:
        summary = await queue_summary(db, "sales", first_in, first_in + timedelta(minutes=5))
    finally:
        await db.dispose()
    assert summary["entries"] == entries
    assert summary["offered"] == offered
    assert summary["short_abandons"] == 1
    assert summary["abandoned"] == 1
    assert summary["answered"] == 2
    assert summary["service_level"] == pytest.approx(service_level)
    assert summary["abandon_rate"] == pytest.approx(abandon_rate)
    assert summary["asa_s"] == pytest.approx(asa, abs=0.01)
    assert summary["aht_s"] == pytest.approx(aht, abs=0.5)


# ------------------------------------------------------------------------------------------- last


async def test_after_an_asterisk_restart_agents_and_queues_hold_no_ghost_calls(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    """Restarts the shared test bed (scripts/asterisk-sandbox restart): kept last in the file."""
    app = await start(
        start_ccapp,
        sqlite_url,
        tmp_path,
        queues={"sales": {"wrap_up_s": 2, "ring_timeout_s": 5}},
        agents={"O": agent(agent_phone("answer"))},
    )
    await login(app, "O")
    on_call = await originate_local_caller(app, "sales", "stay")
    await call_id_of(app, on_call)
    await wait_agent_state(app, "O", "on_call", timeout=10)
    waiting = await originate_local_caller(app, "sales", "stay")
    await call_id_of(app, waiting)
    await wait_queue_waiting(app, "sales", 1)

    await asyncio.to_thread(testbed.sandbox, "restart")
    await app.c.ari.stream.wait_connected(30)

    # no call is left in the ACD, and the agent is not stuck on a call that no longer exists
    await wait_queue_waiting(app, "sales", 0, timeout=15)
    view = await wait_agent_state(app, "O", "ready", timeout=15)
    assert view["call_id"] is None

    async def no_active_call() -> bool:
        return not app.c.service.active

    await wait_for(no_active_call, timeout=10, what="no call left in ccapp")
    status, body = await api(app, "GET", "/api/v1/queues", token=SUPERVISOR_TOKEN)
    assert status == 200
    [sales] = [q for q in body["queues"] if q["name"] == "sales"]
    assert sales["waiting"] == 0
    assert sales["agents_by_state"].get("on_call", 0) == 0
    assert sales["agents_by_state"].get("ringing", 0) == 0

    # both calls are closed in the records: the waiting one did not turn into an answered one
    url = await flushed(app)
    rows = await db_rows(url, "SELECT call_id, outcome, agent_id FROM queue_calls ORDER BY entered_at")
    assert len(rows) == 2
    assert rows[0]["agent_id"] == "O"
    assert rows[1]["outcome"] != "answered"
    assert all(r["outcome"] is not None for r in rows)

    # and a new call works (the restart reloaded asterisk-conf/, test contexts included)
    channel = await originate_local_caller(app, "sales", "hold-4")
    call_id = await call_id_of(app, channel)
    await wait_agent_state(app, "O", "on_call", timeout=10)
    assert await wait_agent_call(app, "O") == call_id

    async def talked() -> list[dict[str, Any]]:
        return [r for r in await queue_calls(await flushed(app), call_id) if r["talk_s"] is not None]

    [row] = await wait_for(talked, timeout=20, what="the new call to end")
    assert (row["outcome"], row["agent_id"]) == ("answered", "O")
