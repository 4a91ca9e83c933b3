"""Smoke: one Local caller through a queue to a Local agent that answers, on the real Asterisk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.acd_support import (
    acd_config,
    agent_phone,
    agent_states,
    call_events,
    call_id_of,
    flushed,
    login,
    originate_local_caller,
    queue_calls,
    queue_tree,
    timed_events,
    wait_agent_state,
)
from tests.e2e.conftest import StartCcapp, settle

pytestmark = pytest.mark.asterisk


async def test_a_local_caller_reaches_a_ready_agent(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    config = acd_config(
        tmp_path,
        queues={"sales": {"skills": {"sales": 1}, "wrap_up_s": 1, "ring_timeout_s": 5}},
        agents={"a1": {"endpoint": agent_phone("answer-3"), "skills": {"sales": 2}, "queues": ["sales"]}},
        trees={
            "smoke": {
                "start": "q",
                "nodes": {"q": {"type": "queue", "queue": "sales", "next": "bye"}, "bye": {"type": "hangup"}},
            }
        },
    )
    app = await start_ccapp(sqlite_url, config=config)
    await login(app, "a1")
    channel = await originate_local_caller(app, "smoke", "stay")
    await wait_agent_state(app, "a1", "on_call", timeout=15)
    await wait_agent_state(app, "a1", "wrap_up", timeout=15)
    await wait_agent_state(app, "a1", "ready", timeout=5)
    await settle(app, 1)
    call_id = await call_id_of(app, channel)
    rows = await queue_calls(await flushed(app), call_id)
    assert rows[0]["outcome"] == "answered", rows
    assert rows[0]["agent_id"] == "a1"
    kinds = [kind for kind, _ in await call_events(app.settings.database.url, call_id)]
    acd = [k for k in kinds if k.startswith(("queue.", "agent."))]
    assert acd == [
        "queue.entered",
        "agent.offered",
        "queue.left",
        "agent.connected",
        "agent.disconnected",
        "agent.wrapped",  # after the caller has gone: the agent's wrap-up ends later
    ]
    assert kinds.index("agent.disconnected") < kinds.index("call.ended") < kinds.index("agent.wrapped")
    states = [(r["from_state"], r["to_state"]) for r in await agent_states(app.settings.database.url, "a1")]
    assert states == [
        ("logged_out", "ready"),
        ("ready", "reserved"),
        ("reserved", "ringing"),
        ("ringing", "on_call"),
        ("on_call", "wrap_up"),
        ("wrap_up", "ready"),
    ]


async def test_the_agent_sees_queue_and_caller_and_hears_the_whisper_before_the_caller(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    from tests.support.testbed import ensure_dialplan

    ensure_dialplan("ccapp-test-agents", "shown")
    config = acd_config(
        tmp_path,
        # queue-thankyou is about 1.6 s: the caller is bridged only after it
        queues={"sales": {"wrap_up_s": 1, "ring_timeout_s": 5, "whisper": "queue-thankyou"}},
        agents={"w": {"endpoint": agent_phone("shown"), "queues": ["sales"]}},
        trees={"whisper": queue_tree("sales")},
    )
    app = await start_ccapp(sqlite_url, config=config)
    shown: list[str] = []
    assert app.c.ami is not None
    app.c.ami.on_event(
        "UserEvent",
        lambda m: shown.append(m.get("CallerID") or "") if m.get("UserEvent") == "CcappAgentPhone" else None,
    )
    await login(app, "w")
    channel = await originate_local_caller(app, "whisper", "stay", caller_id='"Carol Caller" <+15550123>')
    await wait_agent_state(app, "w", "wrap_up", timeout=20)
    await settle(app, 1)
    call_id = await call_id_of(app, channel)
    url = await flushed(app)
    assert shown == ["sales: Carol Caller <+15550123>"]  # CALLERID(all) drops the quotes
    events = {e["kind"]: e for e in await timed_events(url, call_id)}
    on_call = next(r["at"] for r in await agent_states(url, "w") if r["to_state"] == "on_call")
    whisper_s = (events["agent.connected"]["at"] - on_call).total_seconds()
    assert 1.0 <= whisper_s <= 4.0, whisper_s
