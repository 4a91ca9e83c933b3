"""`ccapp staffing --from-history`: past calls from SQL, the forecast, and Erlang per interval."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from ccapp.cli import main
from ccapp.kpi.history import history_command
from ccapp.kpi.staffing import StaffingRequest, plan
from ccapp.storage import Database, upgrade
from ccapp.storage.history_queries import queue_calls, queue_history

PARIS = ZoneInfo("Europe/Paris")
TO = date(2026, 11, 16)  # a Monday: the history is the two weeks before it
NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)


def row(n: int, day: date, hh: int, mm: int, **values: Any) -> dict[str, Any]:
    entered = datetime.combine(day, time(hh, mm), PARIS).astimezone(UTC)
    base: dict[str, Any] = {"call_id": f"c{n}", "entry": 1, "queue": "sales", "entered_at": entered}
    base |= {"outcome": "answered", "wait_s": 4.0, "connected_at": entered + timedelta(seconds=4)}
    base |= {"talk_s": 100.0, "hold_s": None, "wrap_s": None}
    return base | values


def rows() -> list[dict[str, Any]]:
    mon1, mon2 = date(2026, 11, 2), date(2026, 11, 9)
    out = [
        # Monday 08:00–08:30 Paris: 12 calls in week 1 and 8 in week 2 → 10 forecast, AHT 150
        *(row(i, mon1, 8, i, talk_s=120.0, hold_s=10.0, wrap_s=20.0) for i in range(12)),
        *(row(100 + i, mon2, 8, i, talk_s=130.0, hold_s=None, wrap_s=20.0) for i in range(8)),
        # two abandons: one short (not offered, left out) and one long (offered, no handle time)
        row(200, mon2, 8, 20, outcome="abandoned", wait_s=2.0, connected_at=None, talk_s=None),
        row(201, mon2, 8, 21, outcome="abandoned", wait_s=40.0, connected_at=None, talk_s=None),
        # Tuesday 14:00: 3 calls (too few for their own AHT: the overall one is used)
        *(row(300 + i, date(2026, 11, 3), 14, i, talk_s=400.0) for i in range(3)),
        # another queue, and a call after the history
        row(400, mon1, 8, 0, queue="support"),
        row(401, TO, 8, 0),
    ]
    return out


@pytest.fixture
async def db_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'history.db'}"
    await upgrade(url)
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(insert(queue_calls), rows())
    finally:
        await db.dispose()
    return url


def run(url: str, *args: str, **options: Any) -> tuple[int, str, str]:
    opts: dict[str, Any] = {"from_history": "queue=sales", "to": TO.isoformat(), "weeks": "2"}
    opts |= {"tz": "Europe/Paris", "format": "json"} | options
    out, err = io.StringIO(), io.StringIO()
    code = history_command(opts, url, out, err, now=NOW)
    return code, out.getvalue(), err.getvalue()


async def test_the_query_returns_offered_calls_with_their_handle_times(db_url: str) -> None:
    db = Database(db_url)
    start = datetime(2026, 11, 1, 23, 0, tzinfo=UTC)
    try:
        async with db.engine.connect() as conn:
            calls = await queue_history(conn, "sales", start, start + timedelta(days=14), 5.0)
    finally:
        await db.dispose()
    assert len(calls) == 12 + 8 + 1 + 3  # the short abandon and the other queue are not there
    assert calls[0] == (start + timedelta(hours=8), 150.0)  # talk 120 + hold 10 + wrap 20
    handles = [h for _, h in calls]
    assert handles.count(None) == 1 and handles.count(150.0) == 20 and handles.count(400.0) == 3


def test_the_forecast_per_interval_is_the_seasonal_mean(db_url: str) -> None:
    code, out, err = run(db_url)
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["history"] == {"from": "2026-11-02", "to": "2026-11-15", "calls": 24}
    assert doc["overall_aht_s"] == pytest.approx((20 * 150.0 + 3 * 400.0) / 23)
    by_label = {f"{i['weekday']} {i['start']}": i for i in doc["intervals"]}
    assert len(by_label) == 7 * 48
    monday = by_label["Mon 08:00"]
    assert (monday["forecast_calls"], monday["aht_s"], monday["aht_source"]) == (10.5, 150.0, "interval")
    assert (monday["history_calls"], monday["history_handled"]) == (21, 20)
    tuesday = by_label["Tue 14:00"]
    assert (tuesday["forecast_calls"], tuesday["aht_source"]) == (1.5, "overall")
    assert by_label["Mon 08:30"]["forecast_calls"] == 0 and by_label["Mon 08:30"]["erlang_c"] is None


def test_agents_per_interval_are_ccapp_staffings_for_the_same_inputs(db_url: str) -> None:
    code, out, _ = run(db_url, patience="120", shrinkage="30%", target="80/20")
    assert code == 0
    doc = json.loads(out)
    staffed = [i for i in doc["intervals"] if i["erlang_c"] is not None]
    assert len(staffed) == 2
    for interval in staffed:
        expected = plan(
            StaffingRequest(
                calls=interval["forecast_calls"],
                period_s=1800.0,
                aht_s=interval["aht_s"],
                target_sl=Fraction(4, 5),
                target_s=20.0,
                patience_s=120.0,
                shrinkage=Fraction(3, 10),
            )
        )
        c, a = expected.row(expected.agents), expected.row(expected.agents_a or 0)
        assert interval["erlang_c"] == {
            "agents": expected.agents,
            "scheduled": c.scheduled,
            "service_level": c.service_level,
            "asa_s": c.asa_s,
            "p_wait": c.p_wait,
            "occupancy": c.occupancy,
        }
        assert a.a is not None
        assert interval["erlang_a"] == {
            "agents": expected.agents_a,
            "scheduled": a.scheduled,
            "service_level": a.a.service_level,
            "asa_s": a.a.asa_s,
            "p_wait": a.a.p_wait,
            "p_abandon": a.a.p_abandon,
        }
    monday = next(i for i in staffed if i["weekday"] == "Mon")
    assert monday["erlang_c"]["agents"] == 3 and monday["erlang_c"]["scheduled"] == 5


def test_the_table_lists_the_intervals_with_calls(db_url: str) -> None:
    code, out, _ = run(db_url, format="table", patience="120")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "queue sales: 24 calls in 2026-11-02 … 2026-11-15 (Europe/Paris), overall AHT 182.6 s"
    header = ["interval", "calls", "AHT s", "agents", "scheduled", "SL", "ASA s"]
    header += ["A agents", "A scheduled", "A SL", "A ASA s", "A abandon"]
    assert [cell.strip() for cell in lines[4].split("  ") if cell.strip()] == header
    assert lines[5].split()[:6] == ["Mon", "08:00", "10.50", "150.0", "3", "3"]
    assert lines[6].split()[:4] == ["Tue", "14:00", "1.50", "182.6*"]  # * the overall AHT
    assert lines[-1].startswith("scheduled agent-hours (Erlang C): ")


def test_next_day_staffs_only_the_day_after_the_history(db_url: str) -> None:
    code, out, _ = run(db_url, next_day=True)
    doc = json.loads(out)
    assert code == 0 and doc["day"] == "2026-11-16"
    assert {i["weekday"] for i in doc["intervals"]} == {"Mon"} and len(doc["intervals"]) == 48


def test_from_and_to_days_replace_weeks(db_url: str) -> None:
    code, out, _ = run(db_url, weeks=None, **{"from": "2026-11-09"})
    doc = json.loads(out)
    assert code == 0 and doc["history"] == {"from": "2026-11-09", "to": "2026-11-15", "calls": 9}
    assert (
        next(i for i in doc["intervals"] if i["weekday"] == "Mon" and i["start"] == "08:00")["forecast_calls"]
        == 9.0
    )  # 8 answered and the long abandon, one Monday


def test_an_unknown_queue_says_where_it_looked(db_url: str) -> None:
    code, out, err = run(db_url, from_history="queue=nope")
    assert (code, out) == (2, "")
    assert err == "error: no calls for queue 'nope' in 2026-11-02 … 2026-11-15 (Europe/Paris)\n"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"from_history": "queue="}, "error: --from-history: give the queue as queue=NAME, e.g. queue=sales"),
        ({"weeks": "0"}, "error: --weeks: '0' is not a whole number of weeks ≥ 1"),
        ({"per": "7m"}, "error: --per: the interval must divide 24 h evenly (15m, 30m, 1h…), not 420 s"),
        ({"tz": "Mars/Olympus"}, "error: --tz: 'Mars/Olympus' is not an IANA time zone (e.g. Europe/Paris)"),
        ({"to": "16/11/2026"}, "error: --to: '16/11/2026' is not a date like 2026-11-02"),
        ({"from": "2026-11-01"}, "error: --weeks: give --weeks or --from, not both"),
        (
            {"weeks": None, "from": "2026-11-20"},
            "error: --from: the history must start before --to (2026-11-16)",
        ),
        ({"calls": "100"}, "error: --calls: not with --from-history (it comes from the history)"),
        ({"target": "80"}, "error: --target: '80' is not PERCENT/SECONDS like 80/20"),
        ({"format": "xml"}, "error: --format: 'xml' is not table or json"),
    ],
)
def test_a_bad_option_is_named(db_url: str, options: dict[str, Any], message: str) -> None:
    code, out, err = run(db_url, **options)
    assert (code, out, err) == (2, "", message + "\n")


def test_the_command_line_reads_the_database_given_with_db(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["staffing", "--from-history", "queue=sales", "--db", db_url, "--to", "2026-11-16"]
    assert main([*argv, "--weeks", "2", "--tz", "Europe/Paris", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["history"]["calls"] == 24


def test_history_options_without_from_history_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["staffing", "--calls", "100", "--per", "30m", "--aht", "180", "--target", "80/20"]
    assert main([*argv, "--weeks", "4"]) == 2
    assert capsys.readouterr().err == "error: --weeks: only with --from-history queue=NAME\n"
