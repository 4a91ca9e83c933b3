"""On PostgreSQL: a simulated run stored through the journal, the KPI report over it, and the
history that `ccapp staffing --from-history` forecasts from."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import timedelta

from ccapp.kpi.definitions import ReportRequest, Thresholds
from ccapp.kpi.engine import build_report
from ccapp.kpi.history import history_command
from ccapp.sim import run_scenario
from ccapp.sim.cli import store_run
from ccapp.sim.journal import SimJournal
from ccapp.sim.model import Outcome
from ccapp.storage import Database
from ccapp.storage.history_queries import queue_history
from tests.unit.sim.test_sim_journal import KPIS, assert_same, day


async def test_a_simulated_run_reports_and_forecasts_on_postgresql(pg_url: str) -> None:
    scenario = day()
    journal = SimJournal("pg")
    result = run_scenario(scenario, journal)
    assert await store_run(pg_url, journal) == len(journal.records)
    start = scenario.start + timedelta(seconds=scenario.warmup_s)
    end = scenario.start + timedelta(seconds=scenario.duration_s)
    thresholds = Thresholds(scenario.service_level_s, scenario.short_abandon_s)
    db = Database(pg_url)
    try:
        report = await build_report(
            db, ReportRequest(start, end, kpis=KPIS, thresholds=thresholds), now=end + timedelta(days=1)
        )
        async with db.engine.connect() as conn:
            sales = await queue_history(conn, "sales", start, end, scenario.short_abandon_s)
    finally:
        await db.dispose()
    assert_same(report.total.kpis, result.summary)
    assert len(sales) == result.by_queue["sales"].offered
    answered = [
        r for r in result.records if r.measured and r.queue == "sales" and r.outcome is Outcome.ANSWERED
    ]
    assert sorted(h for _, h in sales if h is not None) == sorted(r.talk_s + r.wrap_s for r in answered)

    out, err = io.StringIO(), io.StringIO()
    options = {"from_history": "queue=support", "from": "2026-03-02", "to": "2026-03-03", "format": "json"}
    # the command runs its own event loop, as from the command line
    assert await asyncio.to_thread(history_command, options, pg_url, out, err, now=end) == 0, err.getvalue()
    support = [r for r in result.records if r.queue == "support"]
    short = [r for r in support if r.outcome is Outcome.ABANDONED and r.wait_s < scenario.short_abandon_s]
    assert json.loads(out.getvalue())["history"]["calls"] == len(support) - len(short)
