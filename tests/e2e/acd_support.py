"""The ACD test bed: configs with queues, agents and trees, callers and agent phones made of Local
channels (asterisk-conf/extensions.conf, ``[ccapp-test-agents]``, ``[ccapp-test-callers]``,
``[ccapp-test-pstn]``), the HTTP API as an agent or supervisor uses it, and SQL read-back.

Agent phones (``agent_phone("answer")`` → ``Local/answer@ccapp-test-agents``), measured on the test bed:

* ``answer``: answered at once (0.00 s), plays music until hung up;
* ``noanswer``: rings until the caller gives up;
* ``answer-<N>``: answered at once, hangs up by itself N + 0.5 s later (MusicOnHold's duration
  overshoots by half a second);
* ``late-<N>``: rings, answered N s (+0.01) later, then music until hung up;
* ``busy``: refuses at once (cause 17).

Callers (`originate_local_caller`): ``Local/acd-<tree>@from-callers`` runs IVR tree ``<tree>``; the
other half of the Local channel runs ``[ccapp-test-callers]`` from the moment ccapp answers:

* ``hold-<N>``: N to N + 0.5 s of silence (whole seconds played in a loop), then hangs up;
* ``key-<D>-<N>``: after N to N + 0.5 s sends DTMF D (150 ms; key-1-3: received 3.7 s after the
  answer), then stays 2 min;
* ``talk-<N>``: music for N s (+0.0-0.5), then hangs up; ``stay``: music for 10 min;
* ``type-<N>-<keys>``: music for N s, then types ``keys`` (80 ms tones, one every 0.16 s: type-3-4711#
  sent 4 at 3.7 s, # at 4.35 s), then music for 2 min: a caller audible in a recording all along
  (except while it types: no audio flows during SendDTMF, and MixMonitor writes only while frames do).

Outside numbers (``PSTN_DIAL``): any number answers at once and plays music for 30 s; numbers starting
with 9 ring forever; a leading ``+`` is dropped.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ccapp.app import Application
from tests.e2e.conftest import TESTBED_CONFIG
from tests.support.testbed import ensure_dialplan, sandbox_root

ADMIN_TOKEN = "testbed-admin-token"
SUPERVISOR_TOKEN = "testbed-supervisor-token"
AGENTS_CONTEXT = "ccapp-test-agents"
CALLERS_CONTEXT = "ccapp-test-callers"
#: acd.callback_dial and ivr.transfer.number_dial of the ACD configs: numbers answer in the test bed
PSTN_DIAL = "Local/{number}@ccapp-test-pstn"
#: Asterisk's recording directory as Asterisk (in the chroot) sees it: recording.asterisk_dir
ASTERISK_RECORDING_DIR = "/var/spool/asterisk/recording"
#: the same directory as ccapp (on the host) sees it: the shared filesystem of recording.fetch: shared
SHARED_RECORDING_DIR = sandbox_root() / ASTERISK_RECORDING_DIR.lstrip("/")
#: ari.app of the ACD tests' ccapp: ``Stasis(ccapp-acd,inbound,<tree>)`` (extension acd-<tree>)
ARI_APP = "ccapp-acd"
#: caller ID of Local-channel callers unless a test gives another
CALLER_ID = "+15550123"


def agent_token(agent_id: str) -> str:
    return f"token-{agent_id}"


def agent_phone(behaviour: str, line: int = 1) -> str:
    """The dial string of a Local-channel agent phone: ``answer``, ``noanswer``, ``answer-6``, ``late-3``.

    Agents need endpoints of their own: ``line`` 2-5 gives the same phone another dial string
    (``[ccapp-test-agents-<line>]`` includes ``[ccapp-test-agents]``).
    """
    if not 1 <= line <= 5:
        raise ValueError(f"line {line}: the test bed has lines 1-5")
    context = AGENTS_CONTEXT if line == 1 else f"{AGENTS_CONTEXT}-{line}"
    return f"Local/{behaviour}@{context}"


def queue_tree(
    queue: str, *, priority: int = 0, then: str = "bye", nodes: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A tree whose first node, ``to_queue``, hands the call to ``queue``; when the queue gives the
    call back (the agent hung up, no agent…) it goes on to node ``then`` (default ``bye``, a hang-up,
    added here). ``nodes`` adds more nodes (those ``then`` leads to)."""
    tree_nodes: dict[str, Any] = {
        "to_queue": {"type": "queue", "queue": queue, "priority": priority, "next": then}
    }
    if then == "bye":  # (an unreachable node is a config error)
        tree_nodes["bye"] = {"type": "hangup"}
    tree_nodes.update(nodes or {})
    return {"start": "to_queue", "nodes": tree_nodes}


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def acd_config(
    tmp_path: Path,
    *,
    queues: Mapping[str, Any],
    agents: Mapping[str, Any],
    trees: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    name: str = "ccapp.yaml",
) -> Path:
    """Write the test bed's config with ``queues``, ``agents`` (each gets token ``token-<id>`` unless
    it has one) and IVR ``trees`` to ``tmp_path/name``; ``extra`` is merged over the result.

    Also: the admin token ``testbed-admin-token``, a supervisor ``testbed-supervisor-token``, callbacks
    and number transfers dialled into ``[ccapp-test-pstn]``, recordings stored under
    ``tmp_path/recordings`` (Asterisk writes them to the chroot's spool, which ccapp reads on the host).
    """
    ensure_dialplan("acd-x@from-callers", ARI_APP)
    data: dict[str, Any] = yaml.safe_load(TESTBED_CONFIG.read_text())
    # The test bed is shared: the ACD tests' calls go to an ARI app of their own (extension acd-<tree>),
    # and ccapp's FastAGI server (a fixed port) stays off.
    data["ari"]["app"] = ARI_APP
    data["agi"] = {"enabled": False}
    sounds = sandbox_root() / "usr/share/asterisk/sounds"
    data["ivr"] = {
        "sounds_dirs": [str(sounds / "en_US_f_Allison"), str(sounds)],
        "tts": {"sounds_dir": str(sounds)},
        "transfer": {"number_dial": PSTN_DIAL},
        "trees": dict(trees),
    }
    data["queues"] = {name: dict(queue) for name, queue in queues.items()}
    data["agents"] = {
        agent_id: {"token": agent_token(agent_id), **agent} for agent_id, agent in agents.items()
    }
    data["http"]["admin_token"] = ADMIN_TOKEN
    data["http"]["tokens"] = {"supervisor": {"role": "supervisor", "token": SUPERVISOR_TOKEN}}
    data["acd"] = {"callback_dial": PSTN_DIAL}
    data["recording"] = {
        "dir": str(tmp_path / "recordings"),
        "asterisk_dir": ASTERISK_RECORDING_DIR,
        "fetch": "shared",
        "asterisk_root": str(sandbox_root()),
    }
    _merge(data, extra or {})
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# ---------------------------------------------------------------------------------------- HTTP API


def base_url(app: Application) -> str:
    return f"http://{app.settings.http.host}:{app.settings.http.port}"


async def api(app: Application, method: str, path: str, *, token: str, json: Any = None) -> tuple[int, Any]:
    """One API request with a bearer token: (status, JSON body, or the text when it is not JSON)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, base_url(app) + path, headers=headers, json=json) as resp,
    ):
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        body = await resp.read()
        return resp.status, body.decode(errors="replace") if body else None


async def login(app: Application, agent_id: str, *, ready: bool = True) -> dict[str, Any]:
    """Log ``agent_id`` in with its own token (ready, or not ready "break"); the agent's view."""
    body: dict[str, Any] = {"ready": True} if ready else {"ready": False, "reason": "break"}
    status, reply = await api(
        app, "POST", f"/api/v1/agents/{agent_id}/login", token=agent_token(agent_id), json=body
    )
    assert status == 200, (status, reply)
    return dict(reply["agent"])


async def set_ready(app: Application, agent_id: str) -> dict[str, Any]:
    status, reply = await api(app, "POST", f"/api/v1/agents/{agent_id}/ready", token=agent_token(agent_id))
    assert status == 200, (status, reply)
    return dict(reply["agent"])


async def agent_view(app: Application, agent_id: str) -> dict[str, Any]:
    status, reply = await api(app, "GET", f"/api/v1/agents/{agent_id}", token=SUPERVISOR_TOKEN)
    assert status == 200, (status, reply)
    return dict(reply["agent"])


async def queue_view(app: Application, queue: str) -> dict[str, Any]:
    status, reply = await api(app, "GET", "/api/v1/queues", token=SUPERVISOR_TOKEN)
    assert status == 200, (status, reply)
    return next(dict(q) for q in reply["queues"] if q["name"] == queue)


async def wait_agent_state(
    app: Application, agent_id: str, state: str | Iterable[str], timeout: float = 20
) -> dict[str, Any]:
    """Poll the agent (every 0.1 s) until its state is ``state`` (or one of them); its view then."""
    wanted = {state} if isinstance(state, str) else set(state)
    view: dict[str, Any] = {}
    try:
        async with asyncio.timeout(timeout):
            while True:
                view = await agent_view(app, agent_id)
                if view["state"] in wanted:
                    return view
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"agent {agent_id} not {sorted(wanted)} within {timeout} s: {view}") from None


async def wait_agent_call(app: Application, agent_id: str, timeout: float = 20) -> str:
    """The id of the call ``agent_id`` is reserved for, ringing for, on or wrapping up (polls)."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                view = await agent_view(app, agent_id)
                if view.get("call_id"):
                    return str(view["call_id"])
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"agent {agent_id} got no call within {timeout} s") from None


async def wait_queue_waiting(app: Application, queue: str, waiting: int, timeout: float = 20) -> None:
    """Poll until ``queue`` has ``waiting`` calls waiting."""
    view: dict[str, Any] = {}
    try:
        async with asyncio.timeout(timeout):
            while (view := await queue_view(app, queue))["waiting"] != waiting:
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"queue {queue}: not {waiting} waiting within {timeout} s: {view}") from None


# ------------------------------------------------------------------------------ Local-channel calls


def _ari(app: Application) -> tuple[str, dict[str, str]]:
    s = app.settings.ari
    auth = aiohttp.encode_basic_auth(s.username, s.password.get_secret_value())
    return s.url.rstrip("/") + "/ari", {"Authorization": auth}


async def originate_local_caller(
    app: Application, tree: str, caller_exten: str, caller_id: str = CALLER_ID
) -> str:
    """Call IVR tree ``tree`` from a Local channel whose caller half runs ``caller_exten`` of
    ``[ccapp-test-callers]`` (``hold-5``, ``key-1-3``, ``talk-4``, ``stay``).

    Returns the id of the channel ccapp answers, ``acd-<tag>`` (its leg id: `call_id_of` finds the
    call); the caller half is ``caller-<tag>``, in the dialplan (the ARI originate's extension).
    """
    url, headers = _ari(app)
    tag = uuid.uuid4().hex[:16]
    # Asterisk looks channel ids up by prefix: one id must not start with the other
    channel_id, caller_half = f"acd-{tag}", f"caller-{tag}"
    params = {
        "endpoint": f"Local/acd-{tree}@from-callers/n",  # /n: no optimisation, like a real phone line
        "context": CALLERS_CONTEXT,
        "extension": caller_exten,
        "priority": "1",
        "callerId": caller_id,
        "timeout": "30",
        "channelId": caller_half,
        "otherChannelId": channel_id,
    }
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.post(f"{url}/channels", params=params) as resp,
    ):
        assert resp.status == 200, (resp.status, await resp.text())
    return channel_id


async def hangup_channel(app: Application, channel_id: str) -> None:
    """Hang up a channel over ARI (a caller who gives up); a channel already gone is fine."""
    url, headers = _ari(app)
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.delete(f"{url}/channels/{channel_id}") as resp,
    ):
        assert resp.status in (204, 404), (resp.status, await resp.text())


async def channel_exists(app: Application, channel_id: str) -> bool:
    url, headers = _ari(app)
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(f"{url}/channels/{channel_id}") as resp,
    ):
        return resp.status == 200


async def bridge_peers(app: Application, channel_id: str) -> list[str]:
    """Names of the channels bridged with ``channel_id`` (empty when it is in no bridge), from ARI."""
    url, headers = _ari(app)
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"{url}/bridges") as resp:
            assert resp.status == 200, (resp.status, await resp.text())
            bridges = await resp.json()
        names = []
        for bridge in bridges:
            if channel_id not in bridge["channels"]:
                continue
            for other in bridge["channels"]:
                if other == channel_id:
                    continue
                async with session.get(f"{url}/channels/{other}") as resp:
                    if resp.status == 200:
                        names.append(str((await resp.json())["name"]))
        return names


async def call_id_of(app: Application, channel_id: str, timeout: float = 15) -> str:
    """The call whose leg is channel ``channel_id`` (flushes the journal and polls SQL)."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await app.c.journal.flush()
                rows = await db_rows(
                    app.settings.database.url, "SELECT call_id FROM legs WHERE leg_id = :leg", leg=channel_id
                )
                if rows:
                    return str(rows[0]["call_id"])
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"no call with leg {channel_id} within {timeout} s") from None


# --------------------------------------------------------------------------------------------- SQL


def _decode(key: str, value: Any) -> Any:
    """SQLite hands text back from a text query: timestamps become aware datetimes, JSON is parsed."""
    if isinstance(value, str):
        if key == "at" or key.endswith("_at"):
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if key in ("data", "paused_spans") or value[:1] in ("{", "["):
            try:
                return json.loads(value)
            except ValueError:
                return value
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


async def db_rows(db_url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Rows of a plain SQL query as dicts (timestamps and JSON decoded)."""
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text(sql), params)
            return [{k: _decode(k, v) for k, v in row.items()} for row in result.mappings()]
    finally:
        await engine.dispose()


async def call_events(db_url: str, call_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The journal of ``call_id``: (kind, data) by sequence number."""
    return [(r["kind"], r["data"]) for r in await timed_events(db_url, call_id)]


async def timed_events(db_url: str, call_id: str) -> list[dict[str, Any]]:
    """The journal of ``call_id`` with times: dicts with seq, at, kind, data."""
    return await db_rows(
        db_url, "SELECT seq, at, kind, data FROM call_events WHERE call_id = :c ORDER BY seq", c=call_id
    )


async def agent_states(db_url: str, agent_id: str) -> list[dict[str, Any]]:
    """``agent_states`` rows of ``agent_id`` in order: at, from_state, to_state, reason, call_id, queue."""
    return await db_rows(
        db_url,
        "SELECT at, from_state, to_state, reason, call_id, queue FROM agent_states"
        " WHERE agent_id = :a ORDER BY at, id",
        a=agent_id,
    )


async def queue_calls(db_url: str, call_id: str) -> list[dict[str, Any]]:
    """``queue_calls`` rows of ``call_id`` by entry."""
    return await db_rows(db_url, "SELECT * FROM queue_calls WHERE call_id = :c ORDER BY entry", c=call_id)


async def flushed(app: Application) -> str:
    """Flush the journal to SQL; the database URL (for the readers above)."""
    await app.c.journal.flush()
    return app.settings.database.url


async def wait_for(predicate: Any, timeout: float = 20, what: str = "condition") -> Any:
    """Poll an async ``predicate`` every 0.1 s until it returns something true; that value."""
    started = time.monotonic()
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} not met within {timeout} s")
        await asyncio.sleep(0.1)
