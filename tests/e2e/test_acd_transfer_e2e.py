"""ACD transfers end to end: an agent connected to a Local-channel caller transfers the call through
the HTTP API — blind to a queue or a number, attended to another agent (completed or cancelled) —
and every transfer is journaled with the call's topic and judged against ``acd.escalation``.

The caller's topic is ``internet`` (set by the tree before the queue node); the escalation rule says
internet calls go to ``queue:support``, so only the transfer to that queue is "correct".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ccapp.app import Application
from tests.e2e.acd_support import (
    AGENTS_CONTEXT,
    acd_config,
    agent_phone,
    agent_token,
    api,
    bridge_peers,
    db_rows,
    flushed,
    hangup_channel,
    login,
    originate_local_caller,
    queue_calls,
    wait_agent_call,
    wait_agent_state,
    wait_for,
)
from tests.e2e.conftest import StartCcapp, settle

pytestmark = pytest.mark.asterisk

TOPIC_TREE = {
    "start": "topic",
    "nodes": {
        "topic": {"type": "set", "vars": {"topic": "internet"}, "next": "to_queue"},
        "to_queue": {"type": "queue", "queue": "sales", "next": "bye"},
        "bye": {"type": "hangup"},
    },
}
#: the agents' phones: both answer at once; s1 on line 1, t1 on line 2 (told apart by channel name)
S1_CHANNEL = re.compile(rf"Local/answer@{AGENTS_CONTEXT}-[0-9a-f]+;")
T1_CHANNEL = re.compile(rf"Local/answer@{AGENTS_CONTEXT}-2-[0-9a-f]+;")


@pytest.fixture
async def app(start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path) -> Application:
    config = acd_config(
        tmp_path,
        queues={
            "sales": {"wrap_up_s": 3, "ring_timeout_s": 5},
            "support": {"skills": {"support": 1}, "wrap_up_s": 1, "ring_timeout_s": 5},
        },
        agents={
            "s1": {"endpoint": agent_phone("answer"), "skills": {"sales": 3}, "queues": ["sales"]},
            "t1": {"endpoint": agent_phone("answer", 2), "skills": {"support": 3}, "queues": ["support"]},
        },
        trees={"internet": TOPIC_TREE},
        extra={"acd": {"escalation": {"internet": "queue:support"}}},
    )
    app = await start_ccapp(sqlite_url, config=config)
    await login(app, "s1")
    await login(app, "t1")
    return app


async def connected_call(app: Application) -> tuple[str, str]:
    """A caller who stays on the line, connected to s1: (caller channel id, call id)."""
    channel = await originate_local_caller(app, "internet", "stay")
    await wait_agent_state(app, "s1", "on_call", timeout=15)
    return channel, await wait_agent_call(app, "s1")


async def transfer(
    app: Application, call_id: str, action: str = "", *, by: str = "s1", **body: Any
) -> dict[str, Any]:
    path = f"/api/v1/calls/{call_id}/transfer" + (f"/{action}" if action else "")
    status, reply = await api(app, "POST", path, token=agent_token(by), json=body or None)
    assert status == 200, (status, reply)
    return dict(reply["transfer"])


async def transfer_rows(app: Application, call_id: str) -> list[dict[str, Any]]:
    return await db_rows(
        await flushed(app),
        "SELECT kind, by_agent, target_type, target, topic, expected, outcome, correct FROM transfers"
        " WHERE call_id = :c ORDER BY seq",
        c=call_id,
    )


def truth(value: Any) -> bool | None:
    return None if value is None else bool(value)  # SQLite gives 0/1


async def hang_up_and_settle(app: Application, channel: str) -> None:
    await hangup_channel(app, channel)
    await settle(app, 1)


async def test_blind_transfer_to_the_escalation_queue_reaches_its_agent(app: Application) -> None:
    channel, call_id = await connected_call(app)
    view = await transfer(app, call_id, type="blind", target="queue:support")
    assert (view["kind"], view["target"], view["state"]) == ("blind", "queue:support", "completed")
    await wait_agent_state(app, "t1", "on_call", timeout=10)
    assert await wait_agent_call(app, "t1") == call_id
    await wait_agent_state(app, "s1", "wrap_up", timeout=5)
    assert [name for name in await bridge_peers(app, channel) if T1_CHANNEL.match(name)]
    await hang_up_and_settle(app, channel)

    [row] = await transfer_rows(app, call_id)
    assert {**row, "correct": truth(row["correct"])} == {
        "kind": "blind",
        "by_agent": "s1",
        "target_type": "queue",
        "target": "support",
        "topic": "internet",
        "expected": "queue:support",
        "outcome": "completed",
        "correct": True,
    }
    sales, support = await queue_calls(await flushed(app), call_id)
    assert (sales["queue"], sales["agent_id"]) == ("sales", "s1")
    assert sales["outcome"] in ("answered", "transferred")
    assert (support["entry"], support["queue"], support["outcome"], support["agent_id"]) == (
        2,
        "support",
        "answered",
        "t1",
    )
    assert support["wait_s"] < 3


async def test_blind_transfer_to_a_number_bridges_the_caller_with_it(app: Application) -> None:
    channel, call_id = await connected_call(app)
    view = await transfer(app, call_id, type="blind", target="number:5550199")
    assert view["state"] == "completed"
    await wait_agent_state(app, "s1", "wrap_up", timeout=5)

    async def number_bridged() -> list[str]:
        return [n for n in await bridge_peers(app, channel) if n.startswith("Local/5550199@ccapp-test-pstn")]

    await wait_for(number_bridged, timeout=10, what="the caller bridged with the number")
    await hang_up_and_settle(app, channel)

    [row] = await transfer_rows(app, call_id)
    assert (row["kind"], row["target_type"], row["target"], row["outcome"]) == (
        "blind",
        "number",
        "5550199",
        "completed",
    )
    assert (row["topic"], row["expected"], truth(row["correct"])) == ("internet", "queue:support", False)


async def test_attended_transfer_to_an_agent_completes_and_the_first_agent_wraps_up(app: Application) -> None:
    channel, call_id = await connected_call(app)
    view = await transfer(app, call_id, type="attended", target="agent:t1")
    assert (view["kind"], view["state"]) == ("attended", "consulting")
    await wait_agent_state(app, "t1", "on_call", timeout=10)  # t1 answered the consultation
    assert not [n for n in await bridge_peers(app, channel) if S1_CHANNEL.match(n)]  # the caller holds
    done = await transfer(app, call_id, "complete")
    assert done["state"] == "completed"
    await wait_agent_state(app, "s1", "wrap_up", timeout=5)

    async def with_t1() -> list[str]:
        return [n for n in await bridge_peers(app, channel) if T1_CHANNEL.match(n)]

    await wait_for(with_t1, timeout=5, what="the caller bridged with t1")
    assert len(await bridge_peers(app, channel)) == 1
    assert await wait_agent_call(app, "t1") == call_id
    await hang_up_and_settle(app, channel)
    await wait_agent_state(app, "t1", ("wrap_up", "ready"), timeout=5)

    [row] = await transfer_rows(app, call_id)
    assert (row["kind"], row["by_agent"], row["target_type"], row["target"], row["outcome"]) == (
        "attended",
        "s1",
        "agent",
        "t1",
        "completed",
    )
    assert truth(row["correct"]) is False  # internet calls should go to the support queue
    disconnected = [
        (r["data"]["agent_id"], r["data"]["by"])
        for r in await db_rows(
            await flushed(app),
            "SELECT data FROM call_events WHERE call_id = :c AND kind = 'agent.disconnected' ORDER BY seq",
            c=call_id,
        )
    ]
    assert disconnected == [("s1", "transfer"), ("t1", "caller")]


async def test_attended_transfer_cancelled_puts_the_caller_back_with_the_first_agent(
    app: Application,
) -> None:
    channel, call_id = await connected_call(app)
    await transfer(app, call_id, type="attended", target="agent:t1")
    await wait_agent_state(app, "t1", "on_call", timeout=10)
    view = await transfer(app, call_id, "cancel")
    assert view["state"] == "cancelled"
    await wait_agent_state(app, "t1", ("wrap_up", "ready"), timeout=5)

    async def with_s1() -> list[str]:
        return [n for n in await bridge_peers(app, channel) if S1_CHANNEL.match(n)]

    await wait_for(with_s1, timeout=5, what="the caller back with s1")
    assert len(await bridge_peers(app, channel)) == 1
    status, reply = await api(app, "GET", "/api/v1/agents/s1", token=agent_token("s1"))
    assert status == 200
    assert (reply["agent"]["state"], reply["agent"]["call_id"]) == ("on_call", call_id)
    await hang_up_and_settle(app, channel)

    [row] = await transfer_rows(app, call_id)
    assert (row["kind"], row["target_type"], row["target"], row["outcome"]) == (
        "attended",
        "agent",
        "t1",
        "cancelled",
    )
    [entry] = await queue_calls(await flushed(app), call_id)
    assert (entry["agent_id"], entry["outcome"]) == ("s1", "answered")
