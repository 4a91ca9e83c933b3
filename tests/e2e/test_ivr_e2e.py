"""The sample IVR tree end to end: SIPp callers typing RFC 4733 DTMF → Asterisk → ccapp → SQL.

Each test places one real call to the sample tree ``main`` of ccapp.yaml.example (extension 101 over
ARI, 201 over FastAGI) and asserts the journaled path. Key times are chosen from the prompts' lengths:
a key counts when it arrives during an interruptible prompt (menus, collects, the welcome) or while a
node waits for input; keys typed over a non-interruptible prompt are ignored, as on any IVR.
Prompt lengths (espeak-ng at 150 wpm, Allison's sounds): welcome 2.8 s, main menu 12.2 s, support menu
6.7 s, queue-busy menu 4.8 s, account 4.1 s, PIN 2.6 s, after-balance 4.5 s, tt-allbusy 9 s,
pm-invalid-option 3.2 s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ccapp.app import Application
from ccapp.storage import Database
from ccapp.storage.queries import list_events, recent_calls
from tests.e2e.conftest import StartCcapp, settle
from tests.e2e.ivr_support import ivr_config
from tests.support.balance_server import BalanceServer
from tests.support.sipp_dtmf import dtmf_caller, run_dtmf_caller

pytestmark = pytest.mark.asterisk

PIN = "8352"
ACCOUNT = "4711"


@pytest.fixture
async def balance() -> AsyncIterator[BalanceServer]:
    server = BalanceServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def config(tmp_path: Path, balance: BalanceServer) -> Path:
    return ivr_config(tmp_path, balance_url=balance.url)


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


def exit_of(call: dict[str, Any]) -> dict[str, Any]:
    exits = [e["data"] for e in call["events"] if e["kind"] == "ivr.exit"]
    assert len(exits) == 1
    return exits[0]


@pytest.fixture
async def app(start_ccapp: StartCcapp, sqlite_url: str, config: Path) -> Application:
    return await start_ccapp(sqlite_url, config=config)


async def test_sales_key_during_the_welcome_barges_in_reaches_the_queue_stub_and_hangs_up(
    app: Application, tmp_path: Path
) -> None:
    # 1 during the welcome (barge-in, kept for the menu), 2 in the queue-busy menu after tt-allbusy
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
    assert queue == [{"name": "queue_outcome", "value": "queue_stub_busy"}]
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
