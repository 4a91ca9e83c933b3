"""Supervisor listen, whisper and barge on a live ACD call, through the API, on the real Asterisk.

The supervisor's phone is a Local-channel phone that answers; what the test checks is where ARI put
it: for listen and whisper, in a bridge of its own with a snoop channel on the agent's channel (spy
both ways; whisper also speaks into the agent's channel), for barge, in the call's own bridge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ccapp.app import Application
from tests.e2e.acd_support import (
    SUPERVISOR_TOKEN,
    _ari,
    acd_config,
    agent_phone,
    agent_token,
    api,
    call_id_of,
    channel_exists,
    flushed,
    hangup_channel,
    login,
    originate_local_caller,
    queue_tree,
    timed_events,
    wait_agent_state,
    wait_for,
)
from tests.e2e.conftest import StartCcapp, settle

pytestmark = pytest.mark.asterisk


async def ari_get(app: Application, path: str) -> Any:
    url, headers = _ari(app)
    async with aiohttp.ClientSession(headers=headers) as session, session.get(url + path) as resp:
        assert resp.status == 200, (resp.status, await resp.text())
        return await resp.json()


async def bridge_of(app: Application, channel_id: str) -> dict[str, Any] | None:
    for bridge in await ari_get(app, "/bridges"):
        if channel_id in bridge["channels"]:
            return dict(bridge)
    return None


@pytest.mark.parametrize("mode", ["listen", "whisper", "barge"])
async def test_a_supervisor_listens_whispers_or_barges_through_the_api(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path, mode: str
) -> None:
    config = acd_config(
        tmp_path,
        queues={"sales": {"wrap_up_s": 1, "ring_timeout_s": 5}},
        agents={"A": {"endpoint": agent_phone("answer"), "queues": ["sales"]}},
        trees={"sv": queue_tree("sales")},
    )
    app = await start_ccapp(sqlite_url, config=config)
    await login(app, "A")
    channel = await originate_local_caller(app, "sv", "stay")
    call_id = await call_id_of(app, channel)
    await wait_agent_state(app, "A", "on_call")

    call_bridge = await bridge_of(app, channel)
    assert call_bridge is not None
    [agent_leg] = [c for c in call_bridge["channels"] if c != channel]

    # an agent may not supervise
    status, _ = await api(
        app,
        "POST",
        f"/api/v1/calls/{call_id}/supervise",
        token=agent_token("A"),
        json={"mode": mode, "endpoint": agent_phone("answer", 3)},
    )
    assert status == 403
    status, body = await api(
        app,
        "POST",
        f"/api/v1/calls/{call_id}/supervise",
        token=SUPERVISOR_TOKEN,
        json={"mode": mode, "endpoint": agent_phone("answer", 3)},
    )
    assert status == 200, body
    supervisor_leg = body["leg_id"]

    async def placed() -> dict[str, Any] | None:
        return await bridge_of(app, supervisor_leg)

    bridge = await wait_for(placed, timeout=10, what="the supervisor's phone in a bridge")
    if mode == "barge":
        assert bridge["id"] == call_bridge["id"]
        assert set(bridge["channels"]) == {channel, agent_leg, supervisor_leg}
    else:
        # a bridge of its own with one snoop channel on the agent's channel; the call is untouched
        assert bridge["id"] != call_bridge["id"]
        [snoop] = [c for c in bridge["channels"] if c != supervisor_leg]
        snooped = await ari_get(app, f"/channels/{snoop}")
        # Asterisk names a snoop channel after the unique id of the channel it snoops on
        assert snooped["name"].startswith(f"Snoop/{agent_leg}-"), snooped["name"]
        assert set((await bridge_of(app, channel) or {})["channels"]) == {channel, agent_leg}

    await hangup_channel(app, channel)
    await wait_agent_state(app, "A", ("wrap_up", "ready"))

    # the supervisor's phone (and its snoop) go with the call
    async def gone() -> bool:
        return await bridge_of(app, supervisor_leg) is None and not await channel_exists(app, supervisor_leg)

    await wait_for(gone, timeout=10, what="the supervisor's leg hung up with the call")
    await settle(app, 1)
    url = await flushed(app)
    supervised = [e["data"] for e in await timed_events(url, call_id) if e["kind"] == "supervisor"]
    assert supervised == [
        {"mode": mode, "supervisor": "supervisor", "agent_id": "A", "leg_id": supervisor_leg}
    ]
