"""ccapp follows whether an agent's phone is reachable, on the real Asterisk: a SIPp phone registers
and unregisters as PJSIP/1001 (asterisk-conf/pjsip.conf); ccapp's ARI connection runs through a TCP
proxy so the test can cut it while the phone goes away."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.e2e.acd_support import acd_config, agent_states, flushed, login, wait_agent_state
from tests.e2e.conftest import StartCcapp
from tests.integration.ari.test_ari_endpoints_live import PASSWORD, PHONE, register_phone
from tests.integration.storage.tcp_proxy import TcpProxy
from tests.support import testbed

pytestmark = pytest.mark.asterisk


async def test_an_agent_is_unreachable_while_the_phone_is_away_even_if_ari_was_down_when_it_left(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    proxy = TcpProxy("127.0.0.1", int(testbed.ARI_URL.rsplit(":", 1)[1]))
    port = await proxy.open()
    config = acd_config(
        tmp_path,
        queues={"sales": {"wrap_up_s": 1, "ring_timeout_s": 5}},
        agents={"a1": {"endpoint": f"PJSIP/{PHONE}", "queues": ["sales"]}},
        trees={"t": {"start": "q", "nodes": {"q": {"type": "queue", "queue": "sales"}}}},
        extra={"ari": {"url": f"http://127.0.0.1:{port}"}},
    )
    try:
        app = await start_ccapp(sqlite_url, config=config)
        # the phone is not registered: whether ccapp asked Asterisk before or after the login, the
        # agent who logs in ready is not offered calls
        await login(app, "a1")
        view = await wait_agent_state(app, "a1", "not_ready", timeout=5)
        assert view["reason"] == "unreachable"

        # the phone registers for 2 s, then unregisters: ready, then unreachable again
        phone = asyncio.create_task(register_phone(PHONE, PASSWORD, hold_s=2))
        await wait_agent_state(app, "a1", "ready", timeout=10)
        view = await wait_agent_state(app, "a1", "not_ready", timeout=10)
        assert view["reason"] == "unreachable"
        assert (await phone).ok

        # back for 4 s
        phone = asyncio.create_task(register_phone(PHONE, PASSWORD, hold_s=4))
        await wait_agent_state(app, "a1", "ready", timeout=10)

        # ARI goes down, the phone leaves meanwhile; after the reconnect ccapp asks Asterisk
        await proxy.close()
        assert (await phone).ok
        assert (await wait_agent_state(app, "a1", "ready", timeout=1))["state"] == "ready"  # nobody told it
        reconnects = app.c.ari.stream.reconnects
        await proxy.open()
        reopened = time.monotonic()
        view = await wait_agent_state(app, "a1", "not_ready", timeout=15)
        print(f"unreachable {time.monotonic() - reopened:.2f} s after ARI was reachable again")
        assert view["reason"] == "unreachable"
        assert app.c.ari.stream.reconnects > reconnects

        rows = await agent_states(await flushed(app), "a1")
        changes = [(r["from_state"], r["to_state"], r["reason"]) for r in rows]
        login_changes = changes[: len(changes) - 4]
        assert login_changes in (
            [("logged_out", "not_ready", "unreachable")],
            [("logged_out", "ready", None), ("ready", "not_ready", "unreachable")],
        )
        assert changes[len(login_changes) :] == [
            ("not_ready", "ready", None),
            ("ready", "not_ready", "unreachable"),
            ("not_ready", "ready", None),
            ("ready", "not_ready", "unreachable"),
        ]
    finally:
        await proxy.close()
