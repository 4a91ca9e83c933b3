"""A simulated run written through the journal's SQL path, and `ccapp kpi` reporting on it."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from ccapp.acd.model import QueueConfig, Strategy
from ccapp.calls.model import EventKind
from ccapp.kpi.definitions import Dimension, ReportRequest, Thresholds
from ccapp.kpi.engine import build_report
from ccapp.sim import AgentSpec, ArrivalSpec, Empirical, Exponential, RateProfile, Scenario, run_scenario
from ccapp.sim.cli import simulate_command, store_run
from ccapp.sim.journal import SimJournal
from ccapp.sim.model import CallRecord, Outcome, Summary
from ccapp.storage import Database

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
KPIS = ("offered", "answered", "abandoned", "short_abandons", "service_level", "asa_s", "abandon_rate")
KPIS += ("aht_s", "handled", "occupancy")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """An empty SQLite file: `store_run` upgrades the schema first, as ``ccapp simulate --db`` does."""
    return f"sqlite+aiosqlite:///{tmp_path / 'sim.db'}"


def day(seed: int = 11) -> Scenario:
    """Two queues (one ring-all with a max wait), shifts, wrap-up, patience: abandons short and long."""
    return Scenario(
        queues=(
            QueueConfig("sales", wrap_up_s=15.0),
            QueueConfig("support", strategy=Strategy.RING_ALL, max_wait_s=240.0),
        ),
        agents=(
            *(AgentSpec(f"a{i}", frozenset({"sales", "support"}), shift_end_s=5400.0) for i in range(3)),
            AgentSpec("b1", frozenset({"support"}), shift_start_s=600.0),
            AgentSpec("b2", frozenset({"support"})),
        ),
        arrivals=(
            ArrivalSpec(
                "sales", RateProfile.constant(70.0), Exponential(150.0), Empirical((2.0, 60.0, 200.0))
            ),
            ArrivalSpec("support", RateProfile.constant(45.0), Exponential(200.0), Exponential(150.0)),
        ),
        duration_s=7200.0,
        warmup_s=900.0,
        seed=seed,
        start=START,
        service_level_s=20.0,
        short_abandon_s=5.0,
    )


def request(scenario: Scenario, *dimensions: Dimension) -> ReportRequest:
    """The measured window of the run, with the run's T and S."""
    return ReportRequest(
        start=scenario.start + timedelta(seconds=scenario.warmup_s),
        end=scenario.start + timedelta(seconds=scenario.duration_s),
        dimensions=dimensions,
        kpis=KPIS,
        thresholds=Thresholds(scenario.service_level_s, scenario.short_abandon_s),
    )


def assert_same(kpis: dict[str, float | None], summary: Summary) -> None:
    assert kpis["offered"] == summary.offered
    assert kpis["answered"] == summary.answered
    assert kpis["abandoned"] == summary.abandoned
    assert kpis["handled"] == summary.answered  # every answered call ends before the run does
    for name in ("service_level", "asa_s", "abandon_rate", "aht_s"):
        assert kpis[name] == pytest.approx(getattr(summary, name), rel=1e-9), name


def test_an_answered_call_becomes_the_events_the_acd_journals() -> None:
    journal = SimJournal("run1")
    at = START + timedelta(seconds=30)
    call = CallRecord("sim-0000001", "sales", START, at, Outcome.ANSWERED, 30.0, "a1", 100.0, 15.0)
    records = list(journal.call_records(call))
    assert [r.kind for r in records] == [
        "call.started",
        "queue.entered",
        "queue.left",
        "agent.offered",
        "agent.connected",
        "agent.disconnected",
        "call.ended",
        "agent.wrapped",
    ]
    assert {r.call_id for r in records} == {"run1-sim-0000001"}
    assert [r.seq for r in records] == list(range(1, 9))
    left, connected, disconnected, wrapped = records[2], records[4], records[5], records[7]
    assert left.data == {"queue": "sales", "entry": 1, "reason": "answered", "wait_s": 30.0, "target": "a1"}
    assert connected.at == at and connected.data["wait_s"] == 30.0
    assert disconnected.at == at + timedelta(seconds=100) and disconnected.data["talk_s"] == 100.0
    assert wrapped.at == at + timedelta(seconds=115) and wrapped.data["wrap_s"] == 15.0


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [(Outcome.ABANDONED, "abandoned"), (Outcome.OVERFLOWED, "overflow"), (Outcome.CLOSED, "shutdown")],
)
def test_a_call_that_is_not_answered_leaves_its_queue_and_ends(outcome: Outcome, reason: str) -> None:
    left_at = START + timedelta(seconds=42)
    records = list(SimJournal("r").call_records(CallRecord("c", "q", START, left_at, outcome, 42.0)))
    assert [r.kind for r in records] == ["call.started", "queue.entered", "queue.left", "call.ended"]
    assert records[2].data["reason"] == reason and records[2].data["wait_s"] == 42.0
    assert records[3].at == left_at


def test_queue_entered_names_the_skill_and_priority_as_the_acd_does() -> None:
    scenario = Scenario(
        queues=(QueueConfig("sales", skills={"fr": 1}), QueueConfig("vip")),
        agents=(AgentSpec("a", frozenset({"sales", "vip"}), skills={"fr": 3, "de": 3}),),
        arrivals=(
            ArrivalSpec("sales", RateProfile.constant(60.0), Exponential(60.0)),
            ArrivalSpec("vip", RateProfile.constant(60.0), Exponential(60.0), priority=5, skills={"de": 2}),
        ),
        duration_s=600.0,
    )
    journal = SimJournal("r", scenario)
    run_scenario(scenario, journal)
    entered = {r.data["queue"]: r.data for r in journal.records if r.kind == EventKind.QUEUE_ENTERED}
    assert (entered["sales"]["skill"], entered["sales"]["priority"]) == ("fr", 0)  # the queue's skill
    assert (entered["vip"]["skill"], entered["vip"]["priority"]) == ("de", 5)  # the call's own


def test_agent_states_go_on_agent_streams_with_the_call_they_work_on() -> None:
    scenario = day()
    journal = SimJournal("r")
    run_scenario(scenario, journal)
    states = [r for r in journal.records if r.kind == EventKind.AGENT_STATE]
    a0 = [r for r in states if r.call_id == "agent:a0:r"]
    assert [r.seq for r in a0] == list(range(1, len(a0) + 1))
    assert (a0[0].data["from"], a0[0].data["to"], a0[0].at) == ("logged_out", "ready", START)
    assert a0[-1].data["to"] == "logged_out"
    reserved = next(r for r in a0 if r.data["to"] == "reserved")
    cycle = a0[a0.index(reserved) : a0.index(reserved) + 5]
    assert [r.data["to"] for r in cycle] == ["reserved", "ringing", "on_call", "wrap_up", "ready"]
    assert {r.data["call_id"] for r in cycle} == {reserved.data["call_id"]}
    assert reserved.data["call_id"].startswith("r-sim-") and reserved.data["queue"] in ("sales", "support")
    ring_all = [r for r in journal.records if r.kind == EventKind.AGENT_OFFERED]
    assert len(ring_all) > sum(1 for r in journal.records if r.kind == EventKind.AGENT_CONNECTED)


def test_a_run_without_an_observer_builds_no_records() -> None:
    result = run_scenario(day())
    assert result.summary.offered > 0  # and nothing else to look at: the loop kept only its tallies


async def test_kpi_report_on_a_stored_run_equals_the_simulators_summary(db_url: str) -> None:
    scenario = day()
    journal = SimJournal("sim-test")
    result = run_scenario(scenario, journal)
    stored = await store_run(db_url, journal)
    assert stored == len(journal.records)
    assert result.summary.abandoned > 0 and result.summary.answered > 0
    short = sum(1 for r in result.records if r.measured and r.outcome is Outcome.ABANDONED and r.wait_s < 5)
    assert short > 0  # the run exercises short abandons: not offered, on both sides
    db = Database(db_url)
    try:
        report = await build_report(db, request(scenario), now=scenario.start + timedelta(days=1))
        by_queue = await build_report(
            db, request(scenario, Dimension.QUEUE), now=scenario.start + timedelta(days=1)
        )
    finally:
        await db.dispose()
    assert_same(report.total.kpis, result.summary)
    assert report.total.kpis["short_abandons"] == short
    # occupancy over the same window: agent-state spans cut at its edges, as the simulator counts them
    assert report.total.kpis["occupancy"] == pytest.approx(result.summary.occupancy, rel=1e-6)
    for row in by_queue.rows:
        assert_same(row.kpis, result.by_queue[str(row.key["queue"])])


async def test_storing_the_same_run_twice_adds_nothing(db_url: str) -> None:
    journal = SimJournal("again")
    run_scenario(day(seed=3), journal)
    assert await store_run(db_url, journal) == len(journal.records)
    assert await store_run(db_url, journal) == 0


def test_simulate_with_db_stores_the_run_and_says_so(tmp_path: Path) -> None:
    scenario = {
        "seed": 2,
        "duration_s": 1800,
        "start": "2026-03-02T08:00:00+01:00",
        "queues": [{"name": "q", "wrap_up_s": 5}],
        "agents": [{"id": "a", "count": 2, "queues": ["q"]}],
        "arrivals": [{"queue": "q", "calls_per_hour": 30, "handle": {"exponential": 120}}],
    }
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario))
    url = f"sqlite+aiosqlite:///{tmp_path / 'sim.db'}"
    out, err = io.StringIO(), io.StringIO()
    assert simulate_command(path, "table", out, err, url, "r1") == 0
    assert err.getvalue().startswith("run r1: ")
    assert "journal events stored (from 2026-03-02T08:00:00+01:00)" in err.getvalue()
    assert "all" in out.getvalue()
