"""ccapp keeps its promises when Asterisk restarts, the database goes away, or it is told to stop."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from ccapp.app import Application
from ccapp.storage import Database
from ccapp.storage.queries import count_events, recent_calls
from tests.e2e.conftest import TESTBED_CONFIG, StartCcapp, settle
from tests.e2e.test_first_ivr_e2e import CALLER, assert_complete_records
from tests.integration.storage.tcp_proxy import TcpProxy
from tests.support import testbed

pytestmark = pytest.mark.asterisk
READYZ = "http://127.0.0.1:8080/readyz"


async def ready(session: aiohttp.ClientSession) -> bool:
    try:
        async with session.get(READYZ, timeout=aiohttp.ClientTimeout(total=1)) as resp:
            return resp.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def test_asterisk_restart_unreadies_reconnects_and_closes_the_call_in_progress(
    start_ccapp: StartCcapp, sqlite_url: str
) -> None:
    app = await start_ccapp(sqlite_url)
    async with aiohttp.ClientSession() as http:
        assert await ready(http)
        in_progress = asyncio.create_task(testbed.run_sipp(CALLER, service="100", timeout=30))
        async with asyncio.timeout(10):
            while not app.c.service.active:
                await asyncio.sleep(0.05)
        restart = asyncio.create_task(asyncio.to_thread(testbed.sandbox, "restart"))
        async with asyncio.timeout(30):
            while await ready(http):
                await asyncio.sleep(0.05)
        await restart  # returns once Asterisk answers ARI again
        back_at = time.monotonic()
        async with asyncio.timeout(30):
            while not await ready(http):
                await asyncio.sleep(0.05)
        reconnect_s = time.monotonic() - back_at
        print(f"ccapp ready again {reconnect_s:.2f} s after Asterisk answered ARI")
        assert reconnect_s < 5
        await in_progress  # that caller's call died with Asterisk
        await settle(app, 1)
        db = Database(sqlite_url)
        try:
            (lost,) = await recent_calls(db, 5)
            assert lost["ended_at"] is not None
            assert lost["outcome"] in {"lost", "caller_hangup"}
        finally:
            await db.dispose()
        result = await testbed.run_sipp(CALLER, service="100", timeout=30)
        assert result.ok, result.stdout[-1500:]
        await settle(app, 2)


async def assert_every_call_stored_once(
    app: Application, calls: asyncio.Task[testbed.SippResult], url: str, *, settle_s: float
) -> None:
    """After an outage: the 10 callers all finished and SQL holds each call, and each event, once."""
    result = await calls
    assert result.ok, result.stdout[-1500:]
    await settle(app, 10, timeout=settle_s)
    await assert_complete_records(url, 10, "ari", "100")
    db = Database(url)
    try:
        assert await count_events(db) == 10 * 9
    finally:
        await db.dispose()


@pytest.mark.postgres
async def test_postgresql_outage_during_calls_loses_and_doubles_nothing(
    start_ccapp: StartCcapp, pg_url: str, proxy: TcpProxy
) -> None:
    from ccapp.storage import upgrade

    await upgrade(pg_url)
    port = await proxy.open()
    via_proxy = make_url(pg_url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    app = await start_ccapp(via_proxy, migrate=False)
    calls = asyncio.create_task(testbed.run_sipp(CALLER, service="100", calls=10, rate=2, timeout=60))
    await asyncio.sleep(2)
    await proxy.close()  # the database is gone mid-traffic
    await asyncio.sleep(6)
    assert app.c.journal.pending > 0
    await proxy.open()
    await assert_every_call_stored_once(app, calls, pg_url, settle_s=60)


def ccapp_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "ccapp.cli", *args]


def test_bad_config_names_each_key_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "ccapp.yaml"
    bad.write_text("ari:\n  username: ccapp\n  pasword: x\nami:\n  username: ccapp\nagi:\n  port: lots\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCAPP_")}
    for args in (("check-config", str(bad)), ("--config", str(bad), "run")):
        proc = subprocess.run(ccapp_cmd(*args), capture_output=True, text=True, env=env, timeout=30)
        assert proc.returncode == 2, proc.stderr
        assert "ari.pasword: unknown key (line 3)" in proc.stderr
        assert "ari.password" in proc.stderr
        assert "ami.password" in proc.stderr
        assert "agi.port" in proc.stderr and "line 7" in proc.stderr


@pytest.mark.parametrize(("grace", "outcome"), [("15", "completed"), ("1", "continued_shutdown")])
async def test_sigterm_lets_calls_finish_then_hands_the_rest_to_the_dialplan_and_exits_0(
    asterisk: None, tmp_path: Path, grace: str, outcome: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ccapp.db'}"
    env = {
        **os.environ,
        "CCAPP_DATABASE__URL": url,
        "CCAPP_DATABASE__OUTBOX_DIR": str(tmp_path / "outbox"),
        "CCAPP_SHUTDOWN__GRACE_S": grace,
    }
    subprocess.run(ccapp_cmd("-c", str(TESTBED_CONFIG), "db", "upgrade"), env=env, check=True, timeout=60)
    proc = await asyncio.create_subprocess_exec(*ccapp_cmd("-c", str(TESTBED_CONFIG), "run"), env=env)
    try:
        async with aiohttp.ClientSession() as http:
            async with asyncio.timeout(20):
                while not await ready(http):
                    await asyncio.sleep(0.1)
            call = asyncio.create_task(testbed.run_sipp(CALLER, service="100", timeout=40))
            await asyncio.sleep(2.5)  # the caller is in the IVR
            proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(40):
                assert await proc.wait() == 0
            result = await call
            assert result.ok, result.stdout[-1500:]  # the caller was never left hanging
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    db = Database(url)
    try:
        (record,) = await recent_calls(db, 5)
        assert record["outcome"] == outcome
        assert record["ended_at"] is not None
    finally:
        await db.dispose()


def _pg_cluster() -> list[str] | None:
    """``[version, name]`` of the local PostgreSQL cluster serving CCAPP_TEST_PG_URL, if we can stop it."""
    if os.geteuid() != 0 or not Path("/usr/bin/pg_lsclusters").exists():
        return None
    out = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "5432" and fields[3] == "online":
            return fields[:2]
    return None


@pytest.mark.postgres
async def test_postgresql_server_stopped_and_started_during_calls_loses_and_doubles_nothing(
    start_ccapp: StartCcapp, pg_url: str
) -> None:
    cluster = _pg_cluster()
    if cluster is None:
        pytest.skip("needs root and the local PostgreSQL cluster on :5432 (pg_ctlcluster)")
    app = await start_ccapp(pg_url)
    calls = asyncio.create_task(testbed.run_sipp(CALLER, service="100", calls=10, rate=2, timeout=60))
    await asyncio.sleep(2)

    def pg(action: str) -> None:
        subprocess.run(
            [
                "pg_ctlcluster",
                "--skip-systemctl-redirect",
                *cluster,
                action,
                *(["-m", "fast"] if action == "stop" else []),
            ],
            check=True,
            timeout=60,
        )

    await asyncio.to_thread(pg, "stop")
    try:
        await asyncio.sleep(5)
        assert app.c.journal.pending > 0
        assert not await app.c.db.ping()
    finally:
        await asyncio.to_thread(pg, "start")
    await assert_every_call_stored_once(app, calls, pg_url, settle_s=90)
