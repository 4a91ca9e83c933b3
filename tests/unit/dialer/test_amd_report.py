"""AMD vs dispositions: false-machine and false-human rates per campaign, from agents' dispositions (the
audit sample) or from a known truth per number, as a table, CSV and JSON, and via the CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccapp.cli import main
from ccapp.dialer.amd_report import AmdAttempt, amd_report, render_csv, render_json, render_table, truth_of
from ccapp.storage import Database, upgrade
from ccapp.storage.dialer_store import DialerStore

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def attempt(amd: str | None, outcome: str | None = None, *, campaign: str = "c", phone: str = "+1", rp=None):  # type: ignore[no-untyped-def]
    return AmdAttempt(campaign, phone, amd, outcome, rp)


def test_the_agent_hears_a_machine_when_they_say_so_and_a_person_otherwise() -> None:
    assert truth_of(attempt("HUMAN", "answering_machine")) == "machine"
    assert truth_of(attempt("HUMAN", "machine", rp=False)) == "machine"
    assert truth_of(attempt("HUMAN", "machine", rp=None)) == "human"
    assert truth_of(attempt("HUMAN", "sale")) == "human"
    assert truth_of(attempt("MACHINE", None)) is None
    assert truth_of(attempt("MACHINE", None, phone="+2"), {"+2": "human"}) == "human"
    assert truth_of(attempt("HUMAN", "sale", phone="+2"), {"+2": "machine"}) == "machine"


def test_rates_count_only_attempts_whose_truth_is_known() -> None:
    rows = amd_report(
        [
            attempt("MACHINE"),  # hung up: no one knows
            attempt("MACHINE"),
            attempt("MACHINE", "answering_machine"),  # audited: right
            attempt("MACHINE", "callback_requested"),  # audited: a person, AMD wrong
            attempt("HUMAN", "sale"),
            attempt("human", "answering_machine"),  # AMD wrong (verdicts are case-insensitive)
            attempt("NOTSURE", "machine", rp=False),  # AMD wrong
            attempt("NOTSURE", "no_interest"),
            attempt("HUMAN"),  # abandoned: no agent, no truth
            attempt(None),  # AMD off or never answered
            attempt("MACHINE", "sale", campaign="b"),
        ]
    )
    b, c, total = rows
    assert (c.campaign, c.attempts, c.with_verdict, c.human, c.machine, c.notsure) == ("c", 10, 9, 3, 4, 2)
    assert (c.machine_checked, c.false_machine, c.false_machine_rate) == (2, 1, 0.5)
    assert (c.human_checked, c.false_human, c.false_human_rate) == (4, 2, 0.5)
    assert (b.machine_checked, b.false_machine, b.false_human_rate) == (1, 1, None)
    assert (total.campaign, total.attempts, total.machine_checked, total.false_machine) == ("total", 11, 3, 2)


def test_a_known_truth_per_number_measures_every_verdict() -> None:
    truth = {"+1001": "human", "+1002": "machine", "+1003": "machine", "+1004": "human"}
    rows = amd_report(
        [
            attempt("MACHINE", phone="+1001"),
            attempt("MACHINE", phone="+1002"),
            attempt("HUMAN", phone="+1003"),
            attempt("NOTSURE", phone="+1004"),
        ],
        truth,
    )
    c = rows[0]
    assert (c.false_machine_rate, c.false_human_rate) == (0.5, 0.5)


def test_the_report_renders_as_table_csv_and_json() -> None:
    rows = amd_report([attempt("MACHINE", "sale"), attempt("HUMAN")])
    table = render_table(rows).splitlines()
    assert table[0].split()[:3] == ["campaign", "attempts", "with_verdict"]
    assert table[1].split() == ["c", "2", "2", "1", "1", "0", "1", "1", "100.0%", "0", "0", "—"]
    csv_lines = render_csv(rows).splitlines()
    assert csv_lines[1] == "c,2,2,1,1,0,1,1,1.0,0,0,"
    data = json.loads(render_json(rows))
    assert data["campaigns"][0]["false_machine_rate"] == 1.0
    assert data["total"]["false_human_rate"] is None


def test_no_attempts_give_an_empty_total() -> None:
    [total] = amd_report([])
    assert (total.attempts, total.false_machine_rate) == (0, None)


def test_the_cli_reports_the_attempts_of_the_period_and_campaign(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ccapp.db'}"

    async def seed() -> None:
        await upgrade(url)
        db = Database(url)
        store = DialerStore(db)
        rows = [
            ("a1", "c", "+1001", T0, "MACHINE", "sale"),
            ("a2", "c", "+1002", T0 + timedelta(hours=1), "HUMAN", "answering_machine"),
            ("a3", "c", "+1003", T0 + timedelta(days=2), "HUMAN", "answering_machine"),  # after --to
            ("a4", "d", "+1004", T0, "MACHINE", None),
        ]
        for attempt_id, campaign, phone, at, amd, outcome in rows:
            await store.attempt_started(
                attempt_id=attempt_id, campaign_id=campaign, lead_id="L", phone=phone, started_at=at
            )
            await store.attempt_updated(attempt_id, amd=amd, outcome=outcome)
        await db.dispose()

    asyncio.run(seed())
    args = ["campaign", "amd-report", "--db", url, "--from", "2026-03-02", "--to", "2026-03-03"]
    assert main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(c["campaign"], c["attempts"]) for c in data["campaigns"]] == [("c", 2), ("d", 1)]
    assert data["campaigns"][0]["false_machine_rate"] == 1.0
    assert data["campaigns"][0]["false_human_rate"] == 1.0
    truth = tmp_path / "truth.csv"
    truth.write_text("phone,truth\n+1004,machine\n", encoding="utf-8")
    assert main([*args, "--campaign", "d", "--truth", str(truth), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "d,1,1,0,1,0,1,0,0.0,0,0,"
    assert main([*args[:4], "--from", "March"]) == 2
    assert "expected YYYY-MM-DD" in capsys.readouterr().err
