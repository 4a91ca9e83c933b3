"""SIPp callers → Asterisk → ccapp (ARI and FastAGI) → SQL: the first IVR end to end."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ccapp.storage import Database
from ccapp.storage.queries import list_events, list_legs, recent_calls
from tests.e2e.conftest import StartCcapp, settle
from tests.support.testbed import run_sipp

pytestmark = pytest.mark.asterisk

CALLER = Path(__file__).parent / "scenarios" / "caller_12hash.xml"
KINDS = [
    "call.started",
    "leg.added",
    "leg.answered",
    "prompt",
    "digits",
    "prompt",
    "prompt",
    "leg.ended",
    "call.ended",
]


async def assert_complete_records(url: str, n: int, via: str, exten: str) -> list[dict[str, object]]:
    db = Database(url)
    try:
        calls = await recent_calls(db, n + 10)
        assert len(calls) == n
        for call in calls:
            assert call["via"] == via
            assert call["called_number"] == exten
            assert call["caller_number"] == "+15550100"
            assert call["digits"] == "12"
            assert call["hangup_cause"] == 16
            assert call["hangup_cause_text"] == "Normal Clearing"
            assert call["outcome"] == "completed"
            started, answered, ended = call["started_at"], call["answered_at"], call["ended_at"]
            assert started <= answered < ended  # type: ignore[operator]
            assert ended - started < timedelta(seconds=20)  # type: ignore[operator]
            events = await list_events(db, str(call["call_id"]))
            assert [e["kind"] for e in events] == KINDS
            assert [e["seq"] for e in events] == list(range(1, len(KINDS) + 1))
            assert events[4]["data"] == {"digits": "12", "terminator": "#", "timed_out": False}
            legs = await list_legs(db, str(call["call_id"]))
            assert len(legs) == 1
            assert str(legs[0]["channel"]).startswith("PJSIP/sipp-")
            assert legs[0]["hangup_cause"] == 16
        return calls
    finally:
        await db.dispose()


@pytest.mark.parametrize(("exten", "via"), [("100", "ari"), ("200", "agi")])
async def test_sipp_caller_types_12_hash_hears_it_back_and_the_call_is_recorded(
    start_ccapp: StartCcapp, sqlite_url: str, exten: str, via: str
) -> None:
    app = await start_ccapp(sqlite_url)
    result = await run_sipp(CALLER, service=exten, calls=1, timeout=40)
    assert result.ok, result.stdout[-1500:]
    await settle(app, 1)
    await assert_complete_records(sqlite_url, 1, via, exten)


async def test_50_calls_at_5_per_second_all_complete_on_sqlite(
    start_ccapp: StartCcapp, sqlite_url: str
) -> None:
    app = await start_ccapp(sqlite_url)
    result = await run_sipp(CALLER, service="100", calls=50, rate=5, timeout=90)
    assert result.ok, result.stdout[-1500:]
    await settle(app, 50)
    await assert_complete_records(sqlite_url, 50, "ari", "100")


@pytest.mark.postgres
async def test_50_calls_at_5_per_second_all_complete_on_postgresql(
    start_ccapp: StartCcapp, pg_url: str
) -> None:
    app = await start_ccapp(pg_url)
    result = await run_sipp(CALLER, service="100", calls=50, rate=5, timeout=90)
    assert result.ok, result.stdout[-1500:]
    await settle(app, 50)
    await assert_complete_records(pg_url, 50, "ari", "100")
