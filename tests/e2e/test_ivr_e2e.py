"""The sample IVR tree end to end: SIPp callers typing RFC 4733 DTMF → Asterisk → ccapp → SQL.

Each test places one real call to the sample tree ``main`` of ccapp.yaml.example (extension 101 over
ARI, 201 over FastAGI) and asserts the journaled path. Key times are chosen from the prompts' lengths:
a key counts when it arrives during an interruptible prompt (menus, collects, the welcome) or while a
node waits for input; keys typed over a non-interruptible prompt are ignored, as on any IVR.
Prompt lengths (espeak-ng at 150 wpm, Allison's sounds): welcome 2.8 s, main menu 12.2 s, support menu
6.7 s, queue-busy menu 4.8 s, account 4.1 s, PIN 2.6 s, after-balance 4.5 s, queue-periodic-announce 7.8 s,
pm-invalid-option 3.2 s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import wave
from array import array
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ccapp.app import Application
from ccapp.storage import Database
from ccapp.storage.queries import list_events, recent_calls
from tests.e2e.conftest import StartCcapp, settle
from tests.e2e.ivr_support import OPERATOR_ENDPOINT, OPERATOR_PORT, ivr_config
from tests.support.balance_server import BalanceServer
from tests.support.sipp_dtmf import dtmf_caller, run_dtmf_caller
from tests.support.testbed import ensure_dialplan, run_sipp, sandbox_root

pytestmark = pytest.mark.asterisk

PIN = "8352"
ACCOUNT = "4711"


@pytest.fixture
def config(tmp_path: Path, balance_server: BalanceServer) -> Path:
    return ivr_config(tmp_path, balance_url=balance_server.url)


async def one_call(
    app: Application, tmp_path: Path, keys: str, *, exten: str = "101", **ending: Any
) -> dict[str, Any]:
    """Place one SIPp call typing ``keys`` (syntax of tests/support/sipp_dtmf.py: ``w<ms>`` waits);
    return the call's record with its events."""
    before = app.c.service.stats["ended"]
    scenario = dtmf_caller(tmp_path, keys, first_pause_ms=0, gap_ms=400, **ending)
    result = await run_dtmf_caller(scenario, service=exten, calls=1, timeout=120)
    assert result.ok, result.stdout[-2000:]
    await settle(app, before + 1)
    db = Database(app.settings.database.url)
    try:
        calls = await recent_calls(db, 1)
        call = dict(calls[0])
        call["events"] = await list_events(db, str(call["call_id"]))
        return call
    finally:
        await db.dispose()


def path_of(call: dict[str, Any]) -> list[str]:
    return [e["data"]["node"] for e in call["events"] if e["kind"] == "ivr.node"]


def inputs_of(call: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (e["data"]["node"], e["data"]["mode"], e["data"]["input"])
        for e in call["events"]
        if e["kind"] == "ivr.input"
    ]


def kinds_at(call: dict[str, Any], node: str) -> list[str]:
    """Event kinds journaled while the call was in ``node`` (its first visit)."""
    out: list[str] = []
    inside = False
    for event in call["events"]:
        if event["kind"] == "ivr.node":
            if inside:
                break
            inside = event["data"]["node"] == node
            continue
        if inside:
            out.append(event["kind"])
    return out


def events_of(call: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in call["events"] if e["kind"] == kind]


def exit_of(call: dict[str, Any]) -> dict[str, Any]:
    exits = [e["data"] for e in call["events"] if e["kind"] == "ivr.exit"]
    assert len(exits) == 1
    return exits[0]


@pytest.fixture
async def app(start_ccapp: StartCcapp, sqlite_url: str, config: Path) -> Application:
    return await start_ccapp(sqlite_url, config=config)


async def test_sales_key_during_the_welcome_barges_in_reaches_the_unstaffed_queue_and_hangs_up(
    app: Application, tmp_path: Path
) -> None:
    # 1 during the welcome (barge-in, kept for the menu), 2 in the queue-busy menu after the queue: no
    # agent is logged in, so sales overflows to support, which overflows to a callback (booked for the
    # caller's number, confirmed) and gives the call back
    call = await one_call(app, tmp_path, "w1200 1 w13000 2")
    assert path_of(call) == [
        "welcome",
        "hours",
        "main_menu",
        "to_sales",
        "sales_queue",
        "queue_busy",
        "goodbye",
    ]
    assert inputs_of(call) == [("main_menu", "dtmf", "1"), ("queue_busy", "dtmf", "2")]
    # the key typed over the welcome was the menu's answer: the menu prompt never played
    assert kinds_at(call, "main_menu") == ["ivr.input"]
    assert exit_of(call)["outcome"] == "hangup"
    queue = [
        e["data"] for e in call["events"] if e["kind"] == "variable" and e["data"]["name"] == "queue_outcome"
    ]
    assert queue == [{"name": "queue_outcome", "value": "callback"}]
    left = [(e["data"]["queue"], e["data"]["reason"]) for e in call["events"] if e["kind"] == "queue.left"]
    assert left == [("sales", "overflow"), ("support", "callback")]
    assert [e["data"]["number"] for e in call["events"] if e["kind"] == "callback.requested"] == ["+15550100"]
    assert call["outcome"] == "hangup"


async def test_support_sub_menu_sets_the_topic_on_the_channel(app: Application, tmp_path: Path) -> None:
    # 2 during the welcome; 1 four seconds into the support menu's 6.7 s prompt (barge-in)
    call = await one_call(app, tmp_path, "w1200 2 w4000 1 w13000 2")
    assert path_of(call) == [
        *("welcome", "hours", "main_menu", "support_menu"),
        *("topic_internet", "support_queue", "queue_busy", "goodbye"),
    ]
    assert inputs_of(call)[:2] == [("main_menu", "dtmf", "2"), ("support_menu", "dtmf", "1")]
    support = [e for e in call["events"] if e["kind"] in ("ivr.node", "ivr.input")]
    entered = next(e["at"] for e in support if e["data"]["node"] == "support_menu")
    typed = next(e["at"] for e in support if e["kind"] == "ivr.input" and e["data"]["node"] == "support_menu")
    assert (typed - entered).total_seconds() < 6.0  # the key stopped the 6.7 s prompt


async def test_invalid_key_is_refused_then_the_menu_asks_again(app: Application, tmp_path: Path) -> None:
    # 9 during the welcome → invalid (3.2 s prompt) → the menu plays again; 1 four seconds into it
    call = await one_call(app, tmp_path, "w1200 9 w7000 1 w13000 2")
    assert path_of(call)[:4] == ["welcome", "hours", "main_menu", "to_sales"]
    menu = [(e["kind"], e["data"].get("input"), e["data"].get("attempt")) for e in call["events"]
            if e["kind"] in ("ivr.input", "ivr.no_match") and e["data"]["node"] == "main_menu"]  # fmt: skip
    assert menu == [("ivr.no_match", "9", 1), ("ivr.input", "1", None)]
    assert exit_of(call)["node"] == "goodbye"


async def test_no_input_times_out_three_times_then_goes_to_the_operator(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path, balance_server: BalanceServer
) -> None:
    # A short main-menu prompt (a beep) and a 2 s timeout keep this test to half a minute; the
    # operator is an auto-answering SIPp phone, so the transfer really connects.
    config = ivr_config(
        tmp_path,
        balance_url=balance_server.url,
        node_overrides={"main_menu": {"prompts": ["beep"], "timeout_s": 2}},
    )
    app = await start_ccapp(sqlite_url, config=config)
    operator = asyncio.create_task(run_sipp("uas", service="operator", local_port=OPERATOR_PORT, timeout=60))
    call = await one_call(app, tmp_path, "", hangup_after_ms=24000)
    answered = await operator
    assert answered.ok, answered.stdout[-2000:]
    assert path_of(call) == ["welcome", "hours", "main_menu", "operator"]
    timeouts = [e["data"]["attempt"] for e in call["events"] if e["kind"] == "ivr.timeout"]
    assert timeouts == [1, 2, 3]
    assert exit_of(call) == {
        "tree": "main",
        "node": "operator",
        "outcome": "transfer",
        "target": OPERATOR_ENDPOINT,
    }
    continued = [e["data"] for e in call["events"] if e["kind"] == "continued"]
    assert continued == [{"context": "ccapp-transfer", "extension": "s", "priority": 1}]


async def test_three_invalid_keys_in_the_support_menu_end_at_its_max_tries_target(
    app: Application, tmp_path: Path
) -> None:
    call = await one_call(app, tmp_path, "w1200 2 w3500 9 w6500 9 w6500 9")
    assert path_of(call) == ["welcome", "hours", "main_menu", "support_menu", "goodbye"]
    misses = [
        (e["data"]["input"], e["data"]["attempt"]) for e in call["events"] if e["kind"] == "ivr.no_match"
    ]
    assert misses == [("9", 1), ("9", 2), ("9", 3)]
    assert exit_of(call)["outcome"] == "hangup"


@pytest.mark.parametrize(("exten", "via"), [("101", "ari"), ("201", "agi")])
async def test_balance_lookup_reads_the_balance_and_the_pin_is_nowhere_in_clear(
    app: Application,
    tmp_path: Path,
    balance_server: BalanceServer,
    caplog: pytest.LogCaptureFixture,
    exten: str,
    via: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    messages = sandbox_root() / "var/log/asterisk/messages.log"
    asterisk_log_start = messages.stat().st_size
    # 3 over the welcome; account 4711# over the account prompt; PIN over the PIN prompt; 2 in the
    # after-balance menu, once the balance (about 5 s) has been read out
    keys = f"w1200 3 w2000 {ACCOUNT}# w2500 {PIN} w10500 2"
    call = await one_call(app, tmp_path, keys, exten=exten)

    assert call["via"] == via
    assert path_of(call) == [
        *("welcome", "hours", "main_menu", "account", "pin"),
        *("lookup", "say_balance", "after_balance", "goodbye"),
    ]
    assert inputs_of(call) == [
        ("main_menu", "dtmf", "3"),
        ("account", "dtmf", ACCOUNT),
        ("pin", "dtmf", "****"),
        ("after_balance", "dtmf", "2"),
    ]
    variables = {e["data"]["name"]: e["data"]["value"] for e in call["events"] if e["kind"] == "variable"}
    assert variables == {"account": ACCOUNT, "pin": "****", "balance": "1250.50", "currency": "euro"}
    kinds = [e["kind"] for e in call["events"]]
    assert kinds.index("recording.paused") < kinds.index("recording.resumed")
    # the PIN really was typed: the web service got it (and accepted it)
    assert json.loads(balance_server.requests[-1].body) == {"account": ACCOUNT, "pin": PIN}

    # ...and it is nowhere in ccapp's logs, journal, outbox or database, nor in Asterisk's log
    await app.c.journal.flush()
    places = {
        "ccapp log": caplog.text,
        "journal": json.dumps([e["data"] for e in call["events"]], default=str),
        "database file": Path(app.settings.database.url.split("///", 1)[1]).read_bytes().decode("latin-1"),
        "asterisk log": messages.read_bytes()[asterisk_log_start:].decode("latin-1")
        if messages.exists()
        else "",
    }
    outbox = app.settings.database.outbox_dir
    places.update({f"outbox {p.name}": p.read_text("latin-1") for p in outbox.glob("*") if p.is_file()})
    for place, text in places.items():
        assert clear_occurrences(text, PIN) == [], f"the PIN is in the {place}"


def clear_occurrences(text: str, secret: str) -> list[str]:
    """Where ``secret`` (digits) appears as a number of its own: not inside a longer run of digits
    (timestamps' microseconds hold any 4 digits by chance) nor inside a hex id (call and channel ids);
    returns the surrounding text of each."""
    found = []
    for match in re.finditer(rf"(?<![0-9]){re.escape(secret)}(?![0-9])", text):
        start, end = match.start(), match.end()
        while start > 0 and text[start - 1] in "0123456789abcdef-":
            start -= 1
        while end < len(text) and text[end] in "0123456789abcdef-":
            end += 1
        token = text[start:end].replace("-", "")
        if len(token) >= 16 and re.search("[a-f]", token):
            continue  # inside a uuid/hex id
        found.append(text[max(0, match.start() - 40) : match.end() + 40])
    return found


async def test_reload_during_a_call_the_call_keeps_its_tree_new_calls_get_the_new_one(
    app: Application, tmp_path: Path, config: Path
) -> None:
    url = f"http://127.0.0.1:{app.settings.http.port}/api/v1/admin/reload"
    headers = {"Authorization": "Bearer testbed-admin-token"}
    old_version = app.ivr.registry.versions()["main"]
    keys = "w1200 2 w4000 1 w13000 2"  # support path, about 25 s
    first = asyncio.create_task(one_call(app, tmp_path, keys))
    await asyncio.sleep(4)  # the first call is in the support menu now
    text = config.read_text()
    config.write_text(text.replace("For internet, press 1.", "For internet and TV, press 1."))
    async with aiohttp.ClientSession() as http:
        async with http.post(url, headers=headers) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["summary"] == "changed: main"
        new_version = app.ivr.registry.versions()["main"]
        assert new_version != old_version
        # a broken tree is refused and the new one stays
        config.write_text(text.replace("next: support_queue", "next: nowhere", 1))
        async with http.post(url, headers=headers) as response:
            assert response.status == 422
            problems = (await response.json())["problems"]
            assert any("goes to unknown node 'nowhere'" in p for p in problems), problems
        assert app.ivr.registry.versions()["main"] == new_version
    call_a = await first
    call_b = await one_call(app, tmp_path, keys)
    # SIGHUP reloads too (ccapp runs in this process here)
    config.write_text(text.replace("For internet, press 1.", "For internet or TV, press 1."))
    os.kill(os.getpid(), signal.SIGHUP)
    for _ in range(50):
        if app.ivr.registry.versions()["main"] not in (old_version, new_version):
            break
        await asyncio.sleep(0.05)
    assert app.ivr.registry.versions()["main"] not in (old_version, new_version)
    for call, version in ((call_a, old_version), (call_b, new_version)):
        versions = {e["data"]["version"] for e in events_of(call, "ivr.node")}
        assert versions == {version}
        assert path_of(call)[-1] == "goodbye"


async def test_a_dialplan_recording_is_silent_while_the_pin_is_typed(
    app: Application, tmp_path: Path
) -> None:
    """Extension 111 records the whole call with MixMonitor; ccapp mutes it during the PIN collect."""
    ensure_dialplan("111@from-callers", "MixMonitor")
    call = await one_call(app, tmp_path, f"w1200 3 w2000 {ACCOUNT}# w2500 {PIN} w10500 2", exten="111")
    assert path_of(call)[-1] == "goodbye"
    channel_id = next(e["data"]["leg_id"] for e in call["events"] if e["kind"] == "leg.added")
    wav = sandbox_root() / "var/spool/asterisk/monitor/ccapp" / f"{channel_id}.wav"
    for _ in range(50):  # MixMonitor closes the file just after the hang-up
        if wav.exists() and wav.stat().st_size > 44:
            break
        await asyncio.sleep(0.1)
    with wave.open(str(wav)) as recording:
        rate = recording.getframerate()
        audio = array("h", recording.readframes(recording.getnframes()))
    assert [e["kind"] for e in call["events"] if e["kind"].startswith("recording.")] == [
        "recording.paused",
        "recording.resumed",
    ]
    # MixMonitor writes only while frames flow, so the file's clock is not the wall clock; what the
    # mute leaves is the PIN prompt (2.6 s of speech, played while muted) as exact digital silence,
    # which nothing else in this call produces (TTS pauses are a fraction of a second)
    zero_run = longest = 0
    for sample in audio:
        zero_run = zero_run + 1 if sample == 0 else 0
        longest = max(longest, zero_run)
    assert longest / rate > 2.0, f"longest silence {longest / rate:.2f} s: the PIN prompt was recorded"
    assert max(abs(x) for x in audio) > 1000, "the rest of the call was recorded"
    wav.unlink()
